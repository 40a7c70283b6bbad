""" "The current step" (spec §8): the active task of an instance given by id, or of the one
running instance of a restaurant (optionally of one template)."""

from __future__ import annotations

from ..errors import NotFound, Refused, UsageError
from ..pg import Connection, tx
from ..short_ids import short
from .lookup import require_uuids, resolve_template, restaurant_ids


def active_task(
    conn: Connection,
    org_id: str,
    *,
    instance: str | None = None,
    restaurant: str | None = None,
    template: str | None = None,
) -> str:
    """The id of the active task of the instance meant by ``instance`` or by
    ``restaurant`` (+ ``template``); an error says why there is none or which to choose."""
    if (instance is None) == (restaurant is None):
        raise UsageError(
            "give either --instance or --restaurant (with --template if it runs several)"
        )
    if template is not None and restaurant is None:
        raise UsageError("--template goes with --restaurant", hint="add --restaurant NAME")
    params: dict[str, object] = {"org": org_id}
    if instance is not None:
        (params["instance"],) = require_uuids([instance], "instance", conn=conn, org_id=org_id)
        where = "si.id = CAST(:instance AS uuid)"
        what = f"instance {short(params['instance'])}"
    else:
        assert restaurant is not None
        params["restaurants"] = restaurant_ids(conn, org_id, restaurant)
        where = "si.restaurant_id = ANY(CAST(:restaurants AS uuid[]))"
        what = f"restaurant {restaurant!r}"
        if template is not None:
            params["template"] = resolve_template(conn, org_id, template).id
            where += " AND si.sequence_template_id = CAST(:template AS uuid)"
            what += f" with template {template!r}"
    rows = tx(conn).rows(
        "SELECT si.id::text AS instance_id, si.status, st.name AS template, r.name AS"
        " restaurant, (SELECT t.id::text FROM tasks t WHERE t.sequence_instance_id = si.id"
        "  AND t.status = 'active' ORDER BY t.sequence_step_order LIMIT 1) AS task_id"
        " FROM sequence_instances si JOIN restaurants r ON r.id = si.restaurant_id"
        " LEFT JOIN sequence_templates st ON st.id = si.sequence_template_id"
        f" WHERE si.organisation_id = CAST(:org AS uuid) AND {where}"
        + ("" if instance else " AND si.status IN ('active', 'paused')")
        + " ORDER BY si.started_at, si.id LIMIT 11",
        params,
    )
    if not rows:
        raise NotFound(
            f"no running sequence for {what} in the organisation",
            hint="`seqctl status` lists the running instances",
        )
    if len(rows) > 1:
        listing = "; ".join(f"{short(r.instance_id)} ({r.template}, {r.restaurant})" for r in rows)
        raise UsageError(
            f"{len(rows)} sequences are running for {what}: {listing}",
            hint="add --template T, or give --instance ID",
        )
    row = rows[0]
    if row.task_id is None:
        raise Refused(
            f"instance {short(row.instance_id)} ({row.template}) has no active task: "
            f"it is {row.status}",
            hint="`seqctl status INSTANCE` shows its steps",
        )
    return str(row.task_id)
