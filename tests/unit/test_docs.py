"""The front door stays true: a short README whose tree is the repository's, links that resolve,
a configuration reference and JSON Schema generated from the config model, every config field
described, and a documentation site that builds in strict mode."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from retrain import config_schema

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MKDOCS = ROOT / ".venv-docs" / "bin" / "mkdocs"


def _tracked_top_level() -> set[str]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {line.split("/")[0] + ("/" if "/" in line else "") for line in out.splitlines() if line}


def _readme_tree() -> set[str]:
    text = README.read_text()
    block = text.split("<!-- tree:", 1)[1].split("```", 2)[1]
    return {line.split()[0] for line in block.splitlines() if line.strip()}


def test_the_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= 200


def test_the_readme_tree_lists_exactly_what_git_tracks_at_the_top() -> None:
    assert _readme_tree() == _tracked_top_level()


def test_every_relative_link_of_the_readme_resolves() -> None:
    links = re.findall(r"\]\(([^)#\s]+)\)", README.read_text())
    local = [link for link in links if "://" not in link]
    assert local, "the README links into the docs"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_every_config_field_has_a_description() -> None:
    undocumented = [f.path for f in config_schema.fields() if not f.description.strip()]
    assert not undocumented, f"config fields without a description: {undocumented}"


def test_the_committed_schema_and_reference_are_the_models() -> None:
    stale = config_schema.stale()
    assert not stale, f"regenerate with `python -m retrain.config_schema --write`: {stale}"


def test_the_shipped_config_validates_against_the_published_schema() -> None:
    import jsonschema
    import yaml

    schema = config_schema.json_schema()
    for path in sorted((ROOT / "deployments").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_the_documentation_site_builds_in_strict_mode(tmp_path: Path) -> None:
    assert MKDOCS.exists(), f"{MKDOCS} is missing: run `make setup`"
    result = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "configuration" / "index.html").exists()
