"""Every version the README and the docs name is the version pinned: they cannot drift from the
pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCKS = (
    ROOT / "requirements.lock",
    ROOT / "localstack" / "requirements.lock",
    ROOT / "requirements-docs.lock",
)
# what the README calls a package, when that is not its name on PyPI
ALIASES = {"localstack": "localstack-core"}
# a known name, then a version: "mlflow 3.17.2", "MLflow 3.17.2 server", "`uv` 0.13.9"
MENTION = re.compile(r"(?<![\w.-])`?([A-Za-z][\w.-]*?)`?\s+v?(\d+(?:\.\d+)+)(?!\w|\.\d)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not line.startswith("#"):
            pins[_normal(name)] = version.split(";")[0].strip()
    return pins


def _locked() -> dict[str, str]:
    """The project's pins, then LocalStack's own environment for what the project lacks."""
    pins: dict[str, str] = {}
    for lock in reversed(LOCKS):
        pins.update(_pins(lock))
    return pins


def _mentions(text: str, known: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for match in MENTION.finditer(text):
        name = _normal(match.group(1))
        name = ALIASES.get(name, name)
        if name in known:
            found.append((name, match.group(2)))
    return found


def _matches(version: str, pinned: str) -> bool:
    """ "0.7" names the 0.7 series, so it matches a pin of 0.7.23; "0.7.2" does not."""
    return pinned.split(".")[: len(version.split("."))] == version.split(".")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_version_the_readme_and_docs_name_is_the_pinned_one() -> None:
    locked = _locked()
    mentions, wrong = [], []
    for page in _pages():
        found = _mentions(page.read_text(), locked)
        mentions += found
        wrong += [
            f"{page.relative_to(ROOT)}: {n} {v} (pinned {locked[n]})"
            for n, v in found
            if not _matches(v, locked[n])
        ]
    assert not wrong, "versions that are not the pins: " + ", ".join(wrong)
    named = {n for n, _ in mentions}
    assert {"prefect", "fastapi", "mlflow", "evidently", "pandas", "uv"} <= named


def test_direct_dependencies_are_pinned_as_locked() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _pins(ROOT / "requirements.lock")
    direct = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = [tuple(d.split("==")) for d in direct]
    assert all(len(p) == 2 for p in pins), f"not pinned exactly: {direct}"
    wrong = [
        f"{n}=={v} (lock {locked.get(_normal(n))})" for n, v in pins if locked.get(_normal(n)) != v
    ]
    assert not wrong, "pyproject.toml and requirements.lock disagree: " + ", ".join(wrong)


def test_setup_installs_the_locked_uv() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"UV_VERSION={_pins(ROOT / 'requirements.lock')['uv']}\n" in setup


def test_a_wrong_version_is_caught() -> None:
    locked = {"fastapi": "0.150.0", "evidently": "0.7.23", "localstack-core": "2026.3.0"}
    text = "with fastapi 0.154.0, computed as Evidently 0.7 does, on `LocalStack` 2026.3.0."
    mentions = _mentions(text, locked)
    assert mentions == [
        ("fastapi", "0.154.0"),
        ("evidently", "0.7"),
        ("localstack-core", "2026.3.0"),
    ]
    assert [_matches(v, locked[n]) for n, v in mentions] == [False, True, True]
