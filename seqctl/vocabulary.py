"""One vocabulary: the words seqctl stores, prints and accepts, and a step's defaults and limits.

``StrEnum`` members are ``str``: ``StepType.EMAIL == "email"``, they go into SQL parameters and
JSON as they are, so code may adopt them place by place. The JSON Schema of template files
(``schemas/sequence-template.schema.json``) and the migrations' CHECK constraints say the
same; ``tests/unit/test_vocabulary.py`` keeps them equal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class StepType(StrEnum):
    INTERNAL_ACTIVITY = "internal_activity"
    SOCIAL_MESSAGE = "social_message"
    TEXT = "text"
    EMAIL = "email"
    CALL = "call"
    DEMO_MEETING = "demo_meeting"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class DelayUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


class InstanceStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ApplyResult(StrEnum):
    """What ``apply`` did for one restaurant (the ``result`` of its JSON output)."""

    STARTED = "started"
    ALREADY_ACTIVE = "already_active"
    WOULD_START = "would_start"
    RESOLVED = "resolved"  # found, but not started because other restaurants were not
    RESTAURANT_NOT_FOUND = "restaurant_not_found"
    NOT_IN_ORGANISATION = "not_in_organisation"
    AMBIGUOUS_RESTAURANT = "ambiguous_restaurant"


class TemplateAction(StrEnum):
    """What a plan does to a template row."""

    CREATE = "create"
    UPDATE = "update"
    REACTIVATE = "reactivate"
    ADOPT = "adopt"
    DEACTIVATE = "deactivate"
    DELETE = "delete"


class StepAction(StrEnum):
    """What a plan does to a step row."""

    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"
    DELETE = "delete"


# a step's defaults (a template file may leave these out) and limits
DEFAULT_PRIORITY: Final = Priority.MEDIUM
DEFAULT_DELAY_VALUE: Final = 0
DEFAULT_DELAY_UNIT: Final = DelayUnit.DAYS
STEP_DEFAULTS: Final = {
    "priority": DEFAULT_PRIORITY,
    "delay_value": DEFAULT_DELAY_VALUE,
    "delay_unit": DEFAULT_DELAY_UNIT,
}
MIN_STEPS: Final = 1
MAX_STEPS: Final = 50
MAX_DELAY_VALUE: Final = 2_147_483_647  # PostgreSQL integer
