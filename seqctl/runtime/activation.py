"""When a task became active: ``metadata.sequence.activated_at`` (§11).

Every place that activates a sequence task (``apply``'s first step; progression through
``task complete``/``skip``, ``advance`` and ``resume``) stores the moment in the task's
metadata, so a report can say how long each step waited. The moment is the one the step's
delay counts from, so ``due_date - activated_at`` is always the recorded delay.
"""

from __future__ import annotations


def with_activated_at(metadata: str, at: str) -> str:
    """SQL: the jsonb ``metadata`` with ``sequence.activated_at`` set to ``at``.

    ``metadata`` and ``at`` are SQL expressions (a jsonb, possibly NULL, and a timestamptz);
    the other keys of ``metadata`` and of ``metadata.sequence`` are kept.
    """
    return (
        f"COALESCE({metadata}, '{{}}'::jsonb) || jsonb_build_object('sequence',"
        f" COALESCE({metadata} -> 'sequence', '{{}}'::jsonb)"
        f" || jsonb_build_object('activated_at', to_jsonb({at})))"
    )
