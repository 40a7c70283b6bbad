"""The database: connections (configured URL or embedded server), migrations and adoption,
SQLAlchemy Core tables, the CRM objects and column variants seqctl builds on, demo data.

May import the top-level helpers only (and ``seqctl.templates.spec`` for plain data types);
the layers above call into it, never the other way round.
"""
