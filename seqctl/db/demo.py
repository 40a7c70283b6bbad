"""Demo data: one organisation with users, restaurants, task and message templates.

Rows get stable UUIDs (uuid5 of their names), so loading twice changes nothing. The
shipped ``sequences/`` refer to these task and message templates by name.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from .crm_columns import MESSAGE_CONTENT, MESSAGE_SUBJECT, PROFILE_NAME, crm_columns

NAMESPACE = uuid.UUID("6f1c2a9e-3c1d-4a59-9a0e-5d3c7f1b2e40")
ORGANISATION = "Demo Restaurant Group"


def demo_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


USERS = [
    ("alex@demo.example", "Alex Morgan", "admin"),
    ("sam@demo.example", "Sam Patel", "user"),
]

RESTAURANTS: list[dict[str, str | None]] = [
    {
        "name": "Luigi's Trattoria",
        "organisation_name": "Rossi Hospitality Ltd",
        "email": "hello@luigis.example",
        "phone": "+1 415 555 0101",
        "address": "12 Columbus Ave",
        "city": "San Francisco",
        "website": "https://luigis.example",
        "cuisine": "Italian",
        "contact_name": "Luigi Rossi",
        "contact_email": "luigi@luigis.example",
        "contact_phone": "+1 415 555 0102",
    },
    {
        "name": "Sakura Sushi Bar",
        "organisation_name": "Tanaka Foods Ltd",
        "email": "info@sakura.example",
        "phone": "+1 206 555 0111",
        "address": "401 Pine St",
        "city": "Seattle",
        "website": "https://sakura.example",
        "cuisine": "Japanese",
        "contact_name": "Yuki Tanaka",
        "contact_email": "yuki@sakura.example",
        "contact_phone": None,
    },
    {
        "name": "El Fogón",
        "organisation_name": "Gómez Family Kitchens",
        "email": None,
        "phone": "+1 305 555 0123",
        "address": "88 Calle Ocho",
        "city": "Miami",
        "website": None,
        "cuisine": "Cuban",
        "contact_name": "María Gómez",
        "contact_email": "maria@elfogon.example",
        "contact_phone": "+1 305 555 0124",
    },
    {
        "name": "The Copper Pot",
        "organisation_name": "Copper Pot Group",
        "email": "team@copperpot.example",
        "phone": None,
        "address": "5 Market Square",
        "city": "Boston",
        "website": "https://copperpot.example",
        "cuisine": "American",
        "contact_name": "Jordan Lee",
        "contact_email": None,
        "contact_phone": "+1 617 555 0188",
    },
    {
        "name": "Spice Route",
        "organisation_name": "Spice Route Dining",
        "email": "hello@spiceroute.example",
        "phone": "+1 312 555 0199",
        "address": "220 W Randolph St",
        "city": "Chicago",
        "website": None,
        "cuisine": "Indian",
        "contact_name": "Priya Sharma",
        "contact_email": "priya@spiceroute.example",
        "contact_phone": None,
    },
]

# the restaurant columns the demo fills, where the table has them (name is required)
RESTAURANT_COLUMNS = (
    "name",
    "email",
    "phone",
    "address",
    "city",
    "website",
    "cuisine",
    "contact_name",
    "contact_email",
    "contact_phone",
    "organisation_name",  # the restaurant's company ({organisation_name})
)

TASK_TEMPLATES = [
    (
        "Intro call script",
        "call",
        "high",
        f"Hi {{first_name}}, this is the team at {ORGANISATION}.",
    ),
    ("Menu review", "internal_activity", "medium", None),
    ("Demo call", "call", "high", "Walk {restaurant_name} through online ordering."),
    (
        "Check-in call",
        "call",
        "medium",
        "Hi {first_name}, how is everything going at {restaurant_name}?",
    ),
]

MESSAGE_TEMPLATES = [
    (
        "Welcome email",
        "email",
        "Welcome to {organisation_name}",
        "Hi {first_name},\n\nWelcome aboard! We are excited to work with {restaurant_name} "
        f"in {{city}}.\n\nThe {ORGANISATION} team",
    ),
    (
        "Follow-up text",
        "text",
        None,
        "Hi {first_name}, just checking in on {restaurant_name}. Any questions? Reply here.",
    ),
    (
        "Demo invite",
        "email",
        "Your {cuisine} restaurant + online ordering",
        "Hi {first_name}, can we show {restaurant_name} a 20-minute demo this week?",
    ),
    (
        "Demo reminder",
        "text",
        None,
        f"Reminder: your demo with {ORGANISATION} is today.",
    ),
]


def load_demo(conn: Connection) -> dict[str, Any]:
    """Create the demo organisation and its data where missing; return counts.

    Works on seqctl's own CRM tables and on the application's (``profiles.name``,
    ``message_templates.message_content``/``subject_line``, ``restaurants.cuisine text[]``),
    and on the known older variants; a database lacking a column it must fill is refused
    before anything is written."""
    columns = crm_columns(conn)
    needed_by = "seqctl demo"
    profile_name = columns.require(*PROFILE_NAME, needed_by=needed_by)
    content = columns.require(*MESSAGE_CONTENT, needed_by=needed_by)
    subject = columns.optional(*MESSAGE_SUBJECT)
    for table, column in (
        ("organisations", "name"),
        ("profiles", "organisation_id"),
        ("profiles", "email"),
        ("restaurants", "organisation_id"),
        ("restaurants", "name"),
        ("task_templates", "default_message"),
    ):
        columns.require(table, (column,), needed_by=needed_by)
    restaurant_columns = columns.present("restaurants", RESTAURANT_COLUMNS)
    cuisine_type = columns.type_of("restaurants", "cuisine") or "text"
    org_id = demo_id("organisation", ORGANISATION)
    conn.execute(
        text(
            "INSERT INTO organisations (id, name) VALUES (:id, :name) ON CONFLICT (id) DO NOTHING"
        ),
        {"id": org_id, "name": ORGANISATION},
    )
    users = [
        {"id": demo_id("user", email), "email": email, "name": name, "role": role}
        for email, name, role in USERS
    ]
    conn.execute(
        text("""
            INSERT INTO auth.users (id, email)
            SELECT u.id, u.email
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS u(id uuid, email text)
            ON CONFLICT DO NOTHING
        """),
        {"rows": json.dumps(users)},
    )
    conn.execute(
        text(
            f"INSERT INTO profiles (id, organisation_id, email, {profile_name}"
            + (", role" if columns.has("profiles", "role") else "")
            + ") SELECT u.id, CAST(:org AS uuid), u.email, u.name"
            + (", u.role" if columns.has("profiles", "role") else "")
            + " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS u(id uuid, email text, name text, role text) ON CONFLICT DO NOTHING"
        ),
        {"rows": json.dumps(users), "org": org_id},
    )
    restaurants = [
        {
            "id": demo_id("restaurant", str(r["name"])),
            **r,
            "cuisine": [r["cuisine"]] if cuisine_type.endswith("[]") else r["cuisine"],
        }
        for r in RESTAURANTS
    ]
    record = ", ".join(
        f"{c} {cuisine_type if c == 'cuisine' else 'text'}" for c in restaurant_columns
    )
    conn.execute(
        text(
            "INSERT INTO restaurants (id, organisation_id, "
            + ", ".join(restaurant_columns)
            + ") SELECT r.id, CAST(:org AS uuid), "
            + ", ".join(f"r.{c}" for c in restaurant_columns)
            + f" FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, {record}) "
            "ON CONFLICT (id) DO NOTHING"
        ),
        {"rows": json.dumps(restaurants), "org": org_id},
    )
    task_templates = [
        {
            "id": demo_id("task_template", n),
            "name": n,
            "type": t,
            "priority": p,
            "default_message": m,
        }
        for n, t, p, m in TASK_TEMPLATES
    ]
    conn.execute(
        text("""
            INSERT INTO task_templates (id, organisation_id, name, type, priority, default_message)
            SELECT t.id, CAST(:org AS uuid), t.name, t.type, t.priority, t.default_message
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
              AS t(id uuid, name text, type text, priority text, default_message text)
            ON CONFLICT (id) DO NOTHING
        """),
        {"rows": json.dumps(task_templates), "org": org_id},
    )
    message_templates = [
        {"id": demo_id("message_template", n), "name": n, "type": t, "subject": s, "content": c}
        for n, t, s, c in MESSAGE_TEMPLATES
    ]
    conn.execute(
        text(
            f"INSERT INTO message_templates (id, organisation_id, name, type, {content}"
            + (f", {subject}" if subject else "")
            + ") SELECT m.id, CAST(:org AS uuid), m.name, m.type, m.content"
            + (", m.subject" if subject else "")
            + " FROM "
            "jsonb_to_recordset(CAST(:rows AS jsonb)) AS m(id uuid, name text, type text, "
            "subject text, content text) ON CONFLICT (id) DO NOTHING"
        ),
        {"rows": json.dumps(message_templates), "org": org_id},
    )
    return {
        "organisation": ORGANISATION,
        "organisation_id": org_id,
        "users": len(users),
        "restaurants": len(restaurants),
        "task_templates": len(task_templates),
        "message_templates": len(message_templates),
    }
