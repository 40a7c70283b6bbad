"""Imports every command module so that its commands register on the app."""

from . import db_commands  # noqa: F401
from . import instance_commands  # noqa: F401
from . import sync_commands  # noqa: F401
from . import template_commands  # noqa: F401
