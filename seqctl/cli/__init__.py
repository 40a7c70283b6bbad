"""The command-line interface: parses options, calls the library, renders, exits.

One module per command group (``db_commands``, ``sync_commands``, ``template_commands``,
``instance_commands``) plus the app (``app``: global options, exit codes) and the views of
results. The top layer: may import every other layer; nothing imports it (only
``python -m seqctl`` and the ``seqctl`` entry point run it). Library calls are imported
inside the commands, so each command loads only what it needs.
"""

from .app import app, main, run

__all__ = ["app", "main", "run"]
