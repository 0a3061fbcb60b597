"""The loop side of the decision replay: the real flow, in-process, on a scratch model name."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import yaml

from benchmarks.decisions_table import PolicyWindow, loop_row
from retrain.run_record import RunRecord, load_record


class ReplayError(RuntimeError):
    """A step of the replay failed; the message says which window and why."""


def scratch_config(config_path: Path, folder: Path, name: str | None = None) -> str:
    """Copy the config into `folder` under `name`, by default a fresh `<name>_eval_<hex>`;
    returns the name."""
    raw = yaml.safe_load(config_path.read_text())
    if not isinstance(raw, dict) or "name" not in raw:
        raise ReplayError(f"{config_path} is not a model config with a name")
    name = name or f"{str(raw['name'])[:48]}_eval_{uuid.uuid4().hex[:8]}"
    raw["name"] = name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return name


@contextmanager
def config_dir(folder: Path) -> Iterator[None]:
    """Point RETRAIN_CONFIG_DIR at `folder` for the duration."""
    old = os.environ.get("RETRAIN_CONFIG_DIR")
    os.environ["RETRAIN_CONFIG_DIR"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RETRAIN_CONFIG_DIR", None)
        else:
            os.environ["RETRAIN_CONFIG_DIR"] = old


def recorded(name: str, as_of: date) -> RunRecord | None:
    """The newest completed auto-mode decision record of `name` for the window ending `as_of`."""
    from retrain.clients import s3_client
    from retrain.data import s3 as data
    from retrain.settings import get_settings
    from retrain.sinks import reporting

    settings = get_settings()
    s3 = s3_client(settings)
    prefix = f"{reporting.decisions_prefix(name, 'auto')}{as_of.isoformat()}/"
    found = [
        data.get_json(s3, settings.loop_bucket, k)
        for k in data.list_json(s3, settings.loop_bucket, prefix)
    ]
    done = [load_record(r, prefix) for r in found if r and r.get("status") == "completed"]
    return reporting.latest_per_window(done)[-1] if done else None


def run_loop(
    config_path: Path,
    points: list[date],
    log: Callable[[str], None] = print,
    resume: str | None = None,
) -> tuple[str, list[RunRecord], list[float]]:
    """`monitor_and_retrain` in auto mode for each decision point, in date order, on a scratch
    copy of the model; its name, the decision records and each run's wall time. With `resume`
    (the scratch name of an interrupted replay), windows already recorded are read back, not
    run again (their wall time counts as 0; the records carry their training seconds)."""
    from flows.monitor import monitor_and_retrain

    records: list[RunRecord] = []
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="decisions-") as tmp, config_dir(Path(tmp)):
        name = scratch_config(config_path, Path(tmp), resume)
        log(f"loop: {name} (scratch copy of {config_path}), {len(points)} runs in auto mode")
        for as_of in points:
            earlier = recorded(name, as_of) if resume else None
            if earlier is not None:
                records.append(earlier)
                walls.append(0.0)
                continue
            began = time.perf_counter()
            try:
                returned = monitor_and_retrain(model=name, as_of=as_of, shadow=False)
            except Exception as exc:
                raise ReplayError(
                    f"the loop failed on the window ending {as_of} (model {name}): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if returned.get("status") != "completed":
                raise ReplayError(f"the loop's record for {as_of} is {returned.get('status')!r}")
            record = load_record(returned, f"the loop's record for {as_of}")
            walls.append(time.perf_counter() - began)
            records.append(record)
            row, _ = loop_row(record, walls[-1])
            log(f"  loop {as_of}: {row.note} ({walls[-1]:.1f}s)")
    return name, records, walls


def loop_rows(records: list[RunRecord], walls: list[float]) -> tuple[list[PolicyWindow], str]:
    """The loop's rows for the scored windows (the bootstrap run is not one) and the source of
    its training seconds."""
    rows = [loop_row(r, w) for r, w in zip(records[1:], walls[1:], strict=True)]
    sources = {source for row, source in rows if row.retrained}
    return [row for row, _ in rows], " + ".join(sorted(sources)) or "record"
