"""Imports every command module so that its commands register on the app."""

from . import (  # noqa: F401
    db_commands,
    instance_commands,
    lookup_commands,
    migrate_commands,
    report_commands,
    server_commands,
    sync_commands,
    template_commands,
)
