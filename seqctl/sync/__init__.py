"""Sync: make an organisation's template rows match the files (spec §7).

Owns the actual state (``actual``), the comparison (``diff``), the plan with its reading and
writing (``plan``, ``inputs``), its renderers (``plan_formats``), applying a plan
(``apply_plan``), the scope of a sync, step references and export. May import
``seqctl.templates``, ``seqctl.db`` and the top-level helpers; never ``seqctl.runtime`` or
``seqctl.cli``.
"""
