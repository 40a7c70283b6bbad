"""Export: an organisation's templates (managed or made in the web app) as v1 YAML files.

Keys are the managed key, else the name slugified and made unique; task and message
templates are referred to by name (by UUID where the name is ambiguous); values equal to
their default are left out; the order of keys and files is stable. ``export`` then
``validate`` then ``sync --adopt`` then ``plan`` shows no changes.

Files stay where they are asked to go (spec §7): a stored key becomes a file name only when
it matches the key pattern (anyone in the organisation can edit ``metadata.seqctl`` in the
web app), and nothing is written outside ``--out`` or through a symbolic link.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InvalidInput, Refused
from .actual import (
    ActualState,
    ActualTemplate,
    Reference,
    signature,
    stored_variables,
    user_metadata,
)

SCHEMA_COMMENT = "# yaml-language-server: $schema=../schemas/sequence-template.schema.json"
KEY_LENGTH = 63
MAX_STEPS = 50
STEP_DEFAULTS: dict[str, Any] = {
    "priority": "medium",
    "description": None,
    "delay_value": 0,
    "delay_unit": "days",
    "custom_message": None,
}


@dataclass(frozen=True)
class ExportedTemplate:
    key: str
    filename: str
    text: str
    template_id: str
    name: str
    managed: bool
    warnings: tuple[str, ...] = field(default=())


def slugify(name: str) -> str:
    """A key from a name: ASCII lower case, runs of other characters as one '-'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:KEY_LENGTH].rstrip("-_") or "template"


def _unique(base: str, used: set[str]) -> str:
    candidate, n = base, 1
    while candidate in used:
        n += 1
        suffix = f"-{n}"
        candidate = base[: KEY_LENGTH - len(suffix)].rstrip("-_") + suffix
    used.add(candidate)
    return candidate


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks (``|``)."""


# line breaks other than \n: YAML folds them in plain, single-quoted and block scalars
# (NEL comes back as a space), so only a double-quoted scalar keeps them
OTHER_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if OTHER_BREAKS.intersection(value):
        style: str | None = '"'
    else:  # PyYAML falls back to double quotes where a literal block cannot hold the text
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.dump(
        dict(data),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
        indent=2,
    )


def _reference_names(items: Sequence[Reference]) -> dict[str, str]:
    """id -> the name to write: the name when it finds this template again (unique among
    the organisation's active ones, or among all when none is active), else the id."""
    counts = Counter(item.name for item in items)
    active = Counter(item.name for item in items if item.is_active)

    def found_by_name(item: Reference) -> bool:
        if active[item.name]:
            return item.is_active and active[item.name] == 1
        return counts[item.name] == 1

    return {item.id: item.name if found_by_name(item) else item.id for item in items}


def template_document(
    template: ActualTemplate, key: str, tasks: Mapping[str, str], messages: Mapping[str, str]
) -> dict[str, Any]:
    """The v1 file content of a template row, defaults left out."""
    row = template.row
    document: dict[str, Any] = {"key": key, "name": row["name"]}
    if row.get("description") is not None:
        document["description"] = row["description"]
    if row.get("tags"):
        document["tags"] = list(row["tags"])
    if not row["is_active"]:
        document["is_active"] = False
    if user_metadata(row.get("metadata")):
        document["metadata"] = user_metadata(row.get("metadata"))
    steps = []
    for step in template.steps:
        values = step.row
        entry: dict[str, Any] = {"name": values["name"], "type": values["type"]}
        for name in ("priority", "description", "delay_value", "delay_unit"):
            if values[name] != STEP_DEFAULTS[name]:
                entry[name] = values[name]
        if values["task_template_id"] is not None:
            entry["task_template"] = tasks.get(
                values["task_template_id"], values["task_template_id"]
            )
        if values["message_template_id"] is not None:
            entry["message_template"] = messages.get(
                values["message_template_id"], values["message_template_id"]
            )
        if values["custom_message"] is not None:
            entry["custom_message"] = values["custom_message"]
        if values.get("subject_line") is not None:
            entry["subject_line"] = values["subject_line"]
        if values.get("metadata"):
            entry["metadata"] = dict(values["metadata"])
        steps.append(entry)
    document["steps"] = steps
    return document


def _check_keys(state: ActualState) -> None:
    """Refuse stored keys that are not keys: they would become paths (``../../x``)."""
    from ..templates.validate import KEY_PATTERN

    bad = [t for t in state.managed if not KEY_PATTERN.fullmatch(str(t.key))]
    if not bad:
        return
    lines = [f"  template {t.name!r} ({t.id}): metadata.seqctl.key is {t.key!r}" for t in bad]
    raise InvalidInput(
        f"cannot export {len(bad)} template(s) whose stored key is not a valid key "
        f"(lower-case letters, digits, '-' and '_', at most 63, starting with a letter or "
        f"digit); nothing was written:\n" + "\n".join(lines),
        hint="correct metadata.seqctl.key of the template in the database (e.g. "
        "UPDATE sequence_templates SET metadata = jsonb_set(metadata, '{seqctl,key}', "
        f"'\"a-valid-key\"') WHERE id = '{bad[0].id}'), or remove its metadata.seqctl "
        "entry to export it as an unmanaged template",
    )


def export_templates(state: ActualState) -> list[ExportedTemplate]:
    """Every template of the organisation as a v1 YAML document, in key order.

    Raises InvalidInput, naming the templates, when a stored key does not match the key
    pattern (a file name is made from it).
    """
    _check_keys(state)
    tasks = _reference_names(state.task_templates)
    messages = _reference_names(state.message_templates)
    used: set[str] = set()
    keys: dict[str, str] = {}
    for template in state.managed:
        keys[template.id] = _unique(str(template.key), used)
    for template in sorted(state.unmanaged, key=lambda t: (t.name, t.id)):
        keys[template.id] = _unique(slugify(template.name), used)
    names = Counter(t.name for t in state.unmanaged)
    exported = []
    for template in state.templates:
        key = keys[template.id]
        warnings = []
        if not template.steps:
            warnings.append("it has no steps; add at least one before syncing")
        if len(template.steps) > MAX_STEPS:
            warnings.append(f"it has {len(template.steps)} steps, more than {MAX_STEPS}")
        if template.key is None and names[template.name] > 1:
            warnings.append(
                f"{names[template.name]} unmanaged templates are named "
                f"{template.name!r}; rename them before `sync --adopt`"
            )
        text = f"{SCHEMA_COMMENT}\n" + _dump(template_document(template, key, tasks, messages))
        exported.append(
            ExportedTemplate(
                key,
                f"{key}.yaml",
                text,
                template.id,
                template.name,
                template.key is not None,
                tuple(warnings),
            )
        )
    return sorted(exported, key=lambda e: e.key)


def _outside(out_dir: Path, targets: Sequence[tuple[ExportedTemplate, Path]]) -> list[str]:
    """Why each target that would lead outside ``out_dir`` does (empty: none does)."""
    root = out_dir.resolve()
    found = []
    for item, path in targets:
        if os.path.basename(item.filename) != item.filename or item.filename in (".", ".."):
            found.append(f"{item.filename!r} (template {item.name!r}) is not a plain file name")
        elif path.is_symlink():
            found.append(f"{path} is a symbolic link (to {path.resolve()})")
        elif path.exists() and not path.is_file():
            found.append(f"{path} exists and is not a regular file")
        elif not path.resolve().is_relative_to(root):
            found.append(f"{path} resolves to {path.resolve()}, outside {out_dir}")
    return found


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, never through a symbolic link (O_NOFOLLOW)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o666)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_export(
    exported: Sequence[ExportedTemplate], out_dir: Path, *, force: bool = False
) -> list[tuple[ExportedTemplate, Path, bool]]:
    """Write the files; (template, path, written) for each — unchanged files are not rewritten.

    Refuses, before writing anything, to write outside ``out_dir`` or through a symbolic
    link (also with ``force``), and to overwrite a different file unless ``force``.
    """
    targets = [(item, out_dir / item.filename) for item in exported]
    escaping = _outside(out_dir, targets)
    if escaping:
        raise Refused(
            f"export would write outside {out_dir}; nothing was written:\n"
            + "\n".join(f"  {line}" for line in escaping),
            hint="export writes only regular files directly in --out: remove the links, or "
            "export into an empty directory with --out DIR",
        )
    clashes = [
        path
        for item, path in targets
        if path.exists() and path.read_text(encoding="utf-8") != item.text
    ]
    if clashes and not force:
        listing = ", ".join(str(p) for p in clashes[:5]) + (", …" if len(clashes) > 5 else "")
        raise Refused(
            f"export would overwrite {len(clashes)} different file(s): {listing}",
            hint="export into an empty directory with --out DIR, or pass --force",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for item, path in targets:
        same = path.exists() and path.read_text(encoding="utf-8") == item.text
        if not same:
            _write(path, item.text)
        results.append((item, path, not same))
    return results


VARIABLES_COMMENT = "# yaml-language-server: $schema=../schemas/variables.schema.json"


def export_variables(state: ActualState) -> tuple[str | None, list[str]]:
    """The text of ``variables.yaml`` from the declarations stored with the managed templates
    (None when they carry none), and warnings when templates carry different ones (the
    declarations most templates carry are written)."""
    carried = [(t, stored_variables(t.row.get("metadata"))) for t in state.managed]
    carried = [(t, v) for t, v in carried if v]
    if not carried:
        return None, []
    counts = Counter(signature(v) for _, v in carried)
    chosen_signature = counts.most_common(1)[0][0]
    chosen = next(v for _, v in carried if signature(v) == chosen_signature)
    warnings = [
        f"template {t.key!r} was synced with other declared variables; "
        "`seqctl plan` will show the difference"
        for t, v in carried
        if signature(v) != chosen_signature
    ]
    return f"{VARIABLES_COMMENT}\n" + _dump({"variables": chosen}), warnings
