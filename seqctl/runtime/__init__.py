"""Sequences at run time (spec §4): finding rows by what a person types (``lookup``), starting
a template for restaurants (``apply``), progression, lifecycle, status and the clock.

May import ``seqctl.templates``, ``seqctl.db`` and the top-level helpers; never
``seqctl.sync`` or ``seqctl.cli``.
"""
