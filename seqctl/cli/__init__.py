"""The command-line interface: parses options, calls the library, renders, exits."""

from .app import app, main

__all__ = ["app", "main"]
