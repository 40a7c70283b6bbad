"""Global options anywhere on the command line (spec §8).

``seqctl status --org Acme`` means ``seqctl --org Acme status``: :func:`hoist_global_options`
moves the global options (and their values) found after the subcommand to before it, so
click parses them on the root command with the same meaning and precedence (the last one
given wins, flags beat env beat ``seqctl.toml``). Option values of the subcommands are
skipped (``--restaurant --org`` keeps ``--org`` as the restaurant's name), and nothing after
``--`` moves. :func:`nearest_option` names the real option nearest to a mistyped one, over
the whole command line: the subcommand's options and the global ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from typer import _click as click

from ..suggest import close_matches


def _is_option(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def _subcommands(command: click.Command) -> dict[str, click.Command] | None:
    found = getattr(command, "commands", None)
    return found if isinstance(found, dict) else None


#: the global options that take a value, and the global flags
GLOBAL_VALUE_OPTIONS = ("--database-url", "--org", "--as-user", "--timezone")
GLOBAL_FLAGS = ("--debug",)


def _takes_value(command: click.Command, token: str) -> bool:
    """Whether ``token`` (an option of ``command``, without ``=value``) consumes the next arg."""
    for param in command.params:
        if _is_option(param) and token in (*param.opts, *param.secondary_opts):
            flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
            return not flag and param.nargs != 0
    return False


def _global_option(token: str) -> tuple[str, bool] | None:
    """(name, has its value attached) when ``token`` is a global option, else None."""
    name, eq, _ = token.partition("=")
    if name in GLOBAL_VALUE_OPTIONS:
        return name, bool(eq)
    if name in GLOBAL_FLAGS and not eq:
        return name, False
    return None


def hoist_global_options(root: click.Command, args: Sequence[str]) -> list[str]:
    """``args`` with every global option after the subcommand moved before it."""
    args = list(args)
    hoisted: list[str] = []
    rest: list[str] = []
    command: click.Command = root
    position = 0
    # the global options before the subcommand (and the subcommand path itself) stay put
    head: list[str] = []
    while position < len(args):
        token = args[position]
        if token == "--":
            return args
        if token.startswith("-") and token != "-":
            head.append(token)
            if "=" not in token and _takes_value(command, token) and position + 1 < len(args):
                head.append(args[position + 1])
                position += 1
            position += 1
            continue
        subcommands = _subcommands(command)
        if subcommands is not None:
            sub = subcommands.get(token)
            if sub is None:
                return args  # not a command: click says so
            head.append(token)
            command = sub
            position += 1
            if _subcommands(command) is not None:
                continue
        break
    if command is root:
        return args
    while position < len(args):
        token = args[position]
        if token == "--":
            rest.extend(args[position:])
            break
        found = _global_option(token) if token.startswith("--") else None
        if found is not None and not any(token.partition("=")[0] in p.opts for p in command.params):
            name, attached = found
            hoisted.append(token)
            if name in GLOBAL_VALUE_OPTIONS and not attached and position + 1 < len(args):
                hoisted.append(args[position + 1])
                position += 1
            position += 1
            continue
        rest.append(token)
        if (
            token.startswith("-")
            and "=" not in token
            and _takes_value(command, token)
            and position + 1 < len(args)
        ):
            rest.append(args[position + 1])
            position += 1
        position += 1
    if not hoisted:
        return args
    # the subcommand path starts at the first head token that is not an option or its value
    split = _subcommand_start(root, head)
    return head[:split] + hoisted + head[split:] + rest


def _subcommand_start(root: click.Command, head: list[str]) -> int:
    position = 0
    while position < len(head):
        token = head[position]
        if token.startswith("-") and token != "-":
            if "=" not in token and _takes_value(root, token):
                position += 1
            position += 1
            continue
        return position
    return len(head)


def all_option_names(root: click.Command, ctx: click.Context | None) -> list[str]:
    """The long options of the command the error is about, plus the global ones."""
    names: set[str] = set()
    commands: list[click.Command] = [root]
    if ctx is not None:
        commands.append(ctx.command)
    for command in commands:
        for param in command.params:
            if _is_option(param):
                names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    names.update(("--help",))
    return sorted(names)


def nearest_option(root: click.Command, ctx: click.Context | None, given: str) -> list[str]:
    """The real options nearest to a mistyped one (at most three, best first)."""
    return close_matches(given, all_option_names(root, ctx))


def tidy_metavars(command: click.Command) -> None:
    """Readable placeholders in every command's help (``INSTANCE...``, ``[text|json]``,
    ``RESTAURANT``), where a command did not set its own; never ``<list[str]>``,
    ``{instances}...`` or ``<int range>``."""
    for param in command.params:
        given = getattr(param, "metavar", None)
        argument = getattr(param, "param_type_name", "") == "argument"
        if (given is not None and not argument) or getattr(param, "is_flag", False):
            continue
        kind = type(getattr(param, "type", None)).__name__  # click's parameter type
        choices = getattr(getattr(param, "type", None), "choices", None)
        many = bool(getattr(param, "multiple", False)) or getattr(param, "nargs", 1) == -1
        name = (param.name or "value").upper()
        if choices:
            metavar = "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
        elif kind in ("IntParamType", "IntRange"):
            metavar = "N"
        elif kind in ("FloatParamType", "FloatRange"):
            metavar = "SECONDS" if "TIMEOUT" in name else "NUMBER"
        elif kind in ("Path", "TyperPath"):
            metavar = "PATH" if name != "OUT" else "DIR"
        else:
            metavar = name
        if given is not None:
            metavar = given.strip("[].")
        elif argument and many:
            singular = metavar.removesuffix("IES") + "Y" if metavar.endswith("IES") else metavar
            metavar = singular.removesuffix("S")
        if argument:
            usage = metavar if getattr(param, "required", False) else f"[{metavar}]"
            usage += "..." if many else ""
            listed = metavar + ("..." if many else "")
            # Typer would show "{INSTANCE}" in the usage line (and "INSTANCE" in the list of
            # arguments, without the "..." of a variadic one): the name says it
            vars(param)["make_metavar"] = lambda ctx=None, *, usage=False, u=usage, n=listed: (
                u if usage else n
            )
        param.metavar = metavar
    for sub in (_subcommands(command) or {}).values():
        tidy_metavars(sub)


def keep_examples_whole(command: click.Command) -> None:
    """Example command lines in every command's help are never re-wrapped (click's ``\\b``
    before a paragraph), so that each can be copied as one line on any terminal width."""
    if command.help:
        paragraphs = re.split(r"(\n[ \t]*\n)", command.help)
        for index, paragraph in enumerate(paragraphs):
            stripped = paragraph.lstrip(" \t")
            if stripped.startswith(("seqctl ", "# ")):
                indent = paragraph[: len(paragraph) - len(stripped)]
                paragraphs[index] = f"{indent}\b\n{paragraph}"
        command.help = "".join(paragraphs)
    for sub in (_subcommands(command) or {}).values():
        keep_examples_whole(sub)
