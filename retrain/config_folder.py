"""A folder of model configs: each file loaded on its own, so one broken file harms no other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from retrain.config import ConfigError, ModelConfig, load_config


@dataclass(frozen=True)
class ConfigScan:
    """What a config folder holds: the usable models, and each file that cannot be used."""

    paths: dict[str, Path]
    errors: dict[Path, str]

    def error_message(self) -> str:
        """One short message naming every bad file and its first problems."""
        lines = [f"{len(self.errors)} model config file(s) cannot be used:"]
        for path, error in sorted(self.errors.items()):
            first, *rest = error.splitlines()
            detail = "; ".join(line.strip() for line in rest[:3]) if first.endswith(":") else ""
            lines.append(f"  {path}: {detail or first}")
        return "\n".join(lines)


def scan_configs(config_dir: str | Path) -> ConfigScan:
    """Load every YAML file of the config folder, keeping each file's error apart (one broken
    file must not hide the good ones); a model name in two files makes both files errors."""
    loaded: dict[Path, ModelConfig] = {}
    errors: dict[Path, str] = {}
    for path in sorted(Path(config_dir).glob("*.y*ml")):
        try:
            loaded[path] = load_config(path)
        except ConfigError as exc:
            errors[path] = str(exc)
    by_name: dict[str, list[Path]] = {}
    for path, config in loaded.items():
        by_name.setdefault(config.name, []).append(path)
    paths: dict[str, Path] = {}
    for name, files in by_name.items():
        if len(files) > 1:
            for path in files:
                errors[path] = f"model {name!r} is configured twice: {', '.join(map(str, files))}"
        else:
            paths[name] = files[0]
    return ConfigScan(dict(sorted(paths.items())), errors)


def _declared_name(path: Path) -> str | None:
    """The `name:` a config file declares, read leniently (for a file that does not validate)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None


def find_model_config(config_dir: str | Path, model: str) -> ModelConfig:
    """The config of the model named `model` in the config folder. Only its own file must be
    valid: a broken sibling is ignored unless it declares the same name (then it is this
    model's config, and its error is raised)."""
    matches: list[Path] = []
    found: ModelConfig | None = None
    broken: list[Path] = []
    for path in sorted(Path(config_dir).glob("*.y*ml")):
        declared = _declared_name(path)
        if declared is not None and declared != model:
            continue
        try:
            config = load_config(path)
        except ConfigError:
            if declared == model:
                raise
            broken.append(path)
            continue
        if config.name == model:
            matches.append(path)
            found = config
    if len(matches) > 1:
        raise ConfigError(f"model {model!r} is configured twice: {', '.join(map(str, matches))}")
    if found is None:
        known = sorted(n for p in Path(config_dir).glob("*.y*ml") if (n := _declared_name(p)))
        unreadable = f"; unreadable files: {[str(p) for p in broken]}" if broken else ""
        raise ConfigError(f"no model named {model!r} in {config_dir}; known: {known}{unreadable}")
    return found


def config_paths(config_dir: str | Path) -> dict[str, Path]:
    """Model name -> config file, for every YAML file in the config folder; every bad file (and
    every name configured twice) is named in one short ConfigError."""
    scan = scan_configs(config_dir)
    if scan.errors:
        raise ConfigError(scan.error_message())
    return scan.paths


def load_model_config(config_dir: str | Path, model: str) -> ModelConfig:
    """The config of the model named `model` in the config folder; only its own file must be
    valid, a broken sibling is ignored."""
    return find_model_config(config_dir, model)
