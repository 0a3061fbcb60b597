"""The model config's JSON Schema and the reference pages of the config and of the settings, all
generated from the pydantic models (`retrain.config.ModelConfig`, `retrain.settings.Settings`,
`stack.base.StackSettings`), so none can drift from the code.

    python -m retrain.config_schema --write   # docs/reference/{configuration,settings}.md + schema
    python -m retrain.config_schema --check   # exit 1 when a committed file is stale
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from retrain.config import ModelConfig
from retrain.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "deployments" / "model-config.schema.json"
REFERENCE_FILE = ROOT / "docs" / "reference" / "configuration.md"
SETTINGS_FILE = ROOT / "docs" / "reference" / "settings.md"
SCHEMA_ID = "model-config.schema.json"


@dataclasses.dataclass(frozen=True)
class FieldDoc:
    """One field of the config as the reference shows it."""

    path: str
    type: str
    default: str
    bounds: str
    description: str
    section: str


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a model's YAML file (draft 2020-12, as pydantic writes it)."""
    schema = ModelConfig.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "retrain-loop model config",
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def fields(model: type[BaseModel] = ModelConfig, prefix: str = "") -> Iterator[FieldDoc]:
    """Every field of `model` and of the models it nests, depth first, in declaration order."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _nested_model(info.annotation)
        yield FieldDoc(
            path=path,
            type=_type_name(info.annotation),
            default=_default(info, nested),
            bounds=_bounds(info),
            description=info.description or "",
            section=prefix.rstrip(".") or "top level",
        )
        if nested is not None:
            origin = typing.get_origin(info.annotation)
            inner = f"{path}.<key>" if origin is dict else f"{path}[]" if origin is list else path
            yield from fields(nested, f"{inner}.")


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The config model a field holds (itself, or inside a list or dict), if any."""
    candidates = [annotation, *typing.get_args(annotation)]
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            return c
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(json.dumps(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo, nested: type[BaseModel] | None) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(its fields' defaults)"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value)}`"


_BOUNDS = {
    annotated_types.Ge: ">=",
    annotated_types.Gt: ">",
    annotated_types.Le: "<=",
    annotated_types.Lt: "<",
    annotated_types.MinLen: "length >=",
    annotated_types.MaxLen: "length <=",
}


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        for kind, sign in _BOUNDS.items():
            if isinstance(m, kind):
                parts.append(
                    f"{sign} {getattr(m, dataclasses.fields(typing.cast(Any, m))[0].name)}"
                )
    return ", ".join(parts)


def reference_markdown() -> str:
    """The configuration reference page: one table per section of the config."""
    docs = list(fields())
    lines = [
        "# Configuration reference",
        "",
        "Every field of a model's config file (`deployments/<model>.yaml`), generated from the",
        "pydantic model `retrain.config.ModelConfig` by `python -m retrain.config_schema --write`",
        "(a test fails when this page or the JSON Schema is stale). Editors that read JSON Schema",
        "validate and complete a config as it is typed: point them at",
        "`deployments/model-config.schema.json` (for the YAML language server, a first line",
        "`# yaml-language-server: $schema=model-config.schema.json`).",
        "",
    ]
    for section in dict.fromkeys(d.section for d in docs):
        lines += [f"## `{section}`" if section != "top level" else "## Top level", ""]
        lines += ["| field | type | default | bounds | description |", "|---|---|---|---|---|"]
        for d in docs:
            if d.section == section:
                desc = d.description.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{d.path}` | {d.type} | {d.default} | {d.bounds} | {desc} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def settings_rows(cls: type[BaseSettings]) -> list[str]:
    """One table row per setting: its variable, default and description."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    rows = []
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        variable = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
        value = info.get_default(call_default_factory=True)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, Path):
            value = value.relative_to(ROOT) if value.is_relative_to(ROOT) else value
        shown = "unset" if value is None else f"`{value}`"
        desc = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{variable}` | {shown} | {desc} |")
    return rows


def settings_markdown() -> str:
    """The settings reference page: the loop's settings, then the stack's own."""
    # the stack's settings: only this page reads them from retrain/
    from stack.alert_settings import AlertSettings
    from stack.base import StackSettings

    head = ["| variable | default | meaning |", "|---|---|---|"]
    tables = {
        "loop": settings_rows(Settings),
        "stack": settings_rows(StackSettings),
        "alerts": settings_rows(AlertSettings),
    }
    return SETTINGS_PAGE.format(**{k: "\n".join([*head, *rows]) for k, rows in tables.items()})


SETTINGS_PAGE = """\
# Settings

Every setting is read from a `RETRAIN_*` environment variable or a `.env` file in the
working folder (`.env.example` lists them, commented), by one pydantic-settings class per
area, never at import time: `retrain/settings.py` for the loop, `stack/base.py` for the
local stack. This page is generated from those classes by
`python -m retrain.config_schema --write` (a test fails when it is stale). Secrets (keys,
passwords, webhook URLs) are `SecretStr`: never logged, never on a command line.

## The loop (`retrain.settings.Settings`)

{loop}

## The local stack (`stack.base.StackSettings`)

{stack}

## Where Alertmanager sends alerts (`stack.alert_settings.AlertSettings`)

Read when the stack starts Alertmanager (see [alerts](../alerts.md)); secrets go to 0600 files
under `.stack/alertmanager/`, never onto a command line.

{alerts}

`make up` also sets `RETRAIN_PROJECT_DIR` (the checkout) in the worker's environment: the
deployments' pull step (`prefect.yaml`) runs flows from that folder. Clients (boto3,
MlflowClient) are built in one place, `retrain/clients.py`, from these settings. Models are
logged with skops and loaded with the project's own allow-list of types
(`retrain/registry/model_io.py`); `MLFLOW_ALLOW_PICKLE_DESERIALIZATION` is false in every process
the
stack starts.
"""


def stale() -> list[Path]:
    """The committed files that differ from what the models generate."""
    wanted = {
        SCHEMA_FILE: schema_text(),
        REFERENCE_FILE: reference_markdown(),
        SETTINGS_FILE: settings_markdown(),
    }
    return [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="write the schema and the page")
    group.add_argument("--check", action="store_true", help="exit 1 when either is stale")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for path in found:
            print(f"stale: {path.relative_to(ROOT)} (run python -m retrain.config_schema --write)")
        return 1 if found else 0
    SCHEMA_FILE.write_text(schema_text())
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_FILE.write_text(reference_markdown())
    SETTINGS_FILE.write_text(settings_markdown())
    names = ", ".join(
        str(p.relative_to(ROOT)) for p in (SCHEMA_FILE, REFERENCE_FILE, SETTINGS_FILE)
    )
    print(f"written: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
