"""Templates as files: finding, reading (YAML with positions), JSON Schema, validation, problems
and their reports, the template model (``spec``), message variables, declared variables and
rendering.

Offline: nothing here opens a database connection. May import the top-level helpers
(``seqctl.errors``, ``config``, ``ids``, ``inert``, ``suggest``, ``resources``, ``reading``)
and nothing else of seqctl.
"""
