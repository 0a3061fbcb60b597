"""One pass over a monitoring window, a batch of rows at a time: the window is never whole.

Every batch of rows (`retrain.data.s3.WindowBatches`: one S3 object at a time, a parquet file one
record batch at a time) is
- label-masked: labels not yet matured at `as_of` are nulled, as for a loaded window;
- summarised (`retrain.drift.window_stats`: each feature's validation facts, categorical counts,
  numeric counts on the champion's reference bins) and merged into the window's summary;
- scored by the champion (its outputs kept compact: float32 scores, class indices);
- sampled: a uniform random sample of whole rows (features, label, the champion's prediction)
  for the Evidently report, `thresholds.drift.report_rows` rows;
and only its per-row columns are kept: id, timestamp, label and the serving columns, which
validation (duplicate ids, timestamps), the metrics, CBPE and the traffic summary read.

Memory: those per-row columns and outputs (about 30 bytes a row with an integer id), the
sample, the summaries and one batch, whatever the number of feature columns; not the features.
Validation, drift and monitoring then read the summary where they read feature columns of a
loaded window (`features=`), so a window is judged the same way whichever way it was read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import ModelConfig
from retrain.data.maturity import ARRIVED
from retrain.data.s3 import LoadedWindow, WindowBatches, empty_frame
from retrain.drift.reference import PREDICTION, ReferenceStats
from retrain.drift.window_stats import WindowSummary, summarize
from retrain.monitoring.scoring import ChampionOutputs, champion_outputs, concat_outputs
from retrain.training.pipeline import mask_immature_labels

# What a champion that cannot score a batch raises (wrong dtypes, missing columns): the
# window's validation names the cause; the prediction error is kept for when it does not.
PREDICT_ERRORS = (ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True)
class ScannedWindow(LoadedWindow):
    """A window read in batches: `frame` holds the per-row columns only (`per_row_columns`),
    the features are in `features` (merged summary) and `sample` (whole rows)."""

    features: WindowSummary
    sample: pd.DataFrame
    outputs: ChampionOutputs | None
    predict_error: str | None


def per_row_columns(config: ModelConfig) -> list[str]:
    """The columns a scanned window keeps for every row."""
    cols = config.columns
    arrival = [ARRIVED] if config.labels is not None else []  # a label feed's arrival times
    return [cols.id, cols.timestamp, cols.label, *cols.optional, *arrival]


class RowSample:
    """A uniform random sample of at most `rows` rows of a stream of batches (each row gets a
    random key; the rows with the smallest keys are kept), reproducible for a seed."""

    def __init__(self, rows: int, columns: list[str], seed: int = 0) -> None:
        self.rows, self.columns, self.rng = rows, columns, np.random.default_rng(seed)
        self.keys = np.empty(0)
        self.frames: list[pd.DataFrame] = []

    def add(self, batch: pd.DataFrame, extra: dict[str, np.ndarray]) -> None:
        """Offer the batch's rows (its `columns` and the `extra` per-row arrays)."""
        keys = self.rng.random(len(batch))
        picked = np.arange(len(batch))
        if len(batch) > self.rows:
            picked = np.sort(np.argpartition(keys, self.rows)[: self.rows])
            keys = keys[picked]
        rows = batch.iloc[picked] if len(picked) < len(batch) else batch
        rows = rows[[c for c in self.columns if c in batch.columns]].reset_index(drop=True)
        rows = rows.assign(**{k: v[picked] for k, v in extra.items()})
        self.keys = np.concatenate([self.keys, keys])
        self.frames.append(rows)
        if len(self.keys) > 2 * self.rows:
            self._trim()

    def _trim(self) -> None:
        frame = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()
        if len(self.keys) > self.rows:
            keep = np.sort(np.argpartition(self.keys, self.rows)[: self.rows])
            self.keys, frame = self.keys[keep], frame.iloc[keep].reset_index(drop=True)
        self.frames = [frame]

    def frame(self) -> pd.DataFrame:
        """The sample, rows in the order they came."""
        self._trim()
        return self.frames[0]


def scan_batches(
    batches: Iterable[pd.DataFrame],
    config: ModelConfig,
    as_of: date,
    *,
    model: Any = None,
    stats: ReferenceStats | None = None,
    sample_rows: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, WindowSummary, pd.DataFrame, ChampionOutputs | None, str | None]:
    """The per-row frame, merged feature summary, row sample, champion outputs (None without a
    model, or after a batch it could not score) and that prediction error, of the batches."""
    cols = config.columns
    numeric, categorical = list(cols.numeric), list(cols.categorical)
    keep = per_row_columns(config)
    sampled = [*cols.features, cols.label]
    sample = RowSample(sample_rows or config.thresholds.drift.report_rows, sampled, seed)
    rows: list[pd.DataFrame] = []
    parts: list[ChampionOutputs] = []
    summary: WindowSummary | None = None
    error: str | None = None
    for raw in batches:
        batch = mask_immature_labels(raw, config, as_of)
        del raw
        part = summarize(batch, stats, numeric, categorical)
        summary = part if summary is None else summary.merge(part)
        extra: dict[str, np.ndarray] = {}
        if model is not None and error is None:
            try:
                outputs = champion_outputs(model, batch, config)
                extra[PREDICTION] = outputs.drift_values(config.metric)
            except PREDICT_ERRORS as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                parts.append(outputs)
        sample.add(batch, extra)
        rows.append(batch[[c for c in keep if c in batch.columns]])
        del batch
    if summary is None:  # no rows: the configured columns, typed as an empty loaded window
        empty = empty_frame(cols)
        summary = summarize(empty, stats, numeric, categorical)
        rows = [empty[[c for c in keep if c in empty.columns]]]
    frame = _concat_columns(rows) if len(rows) > 1 else rows[0]
    found = concat_outputs(parts) if parts and error is None else None  # None for no rows
    return frame, summary, sample.frame(), found, error


def _concat_columns(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """The pieces' rows as one frame, built a column at a time, each column's pieces dropped
    once joined: the per-row columns are held about once, not twice, while joining."""
    names = list(pieces[0].columns)
    joined = {}
    for name in names:
        joined[name] = pd.concat([p.pop(name) for p in pieces], ignore_index=True, copy=False)
    pieces.clear()
    return pd.DataFrame(joined, copy=False)


def scan_window(
    config: ModelConfig,
    batches: WindowBatches,
    as_of: date,
    *,
    model: Any = None,
    stats: ReferenceStats | None = None,
    join: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> ScannedWindow:
    """Read the window's batches from S3 once (see the module's docstring); `join` fills each
    batch's labels from a label feed first (`retrain.data.label_feed`), so the files need none."""
    frame, summary, sample, outputs, error = scan_batches(
        map(join, batches) if join else batches, config, as_of, model=model, stats=stats
    )
    missing = set(batches.missing_columns) - ({config.columns.label} if join else set())
    frame.attrs["extra_columns"] = sorted(batches.extra_columns)
    frame.attrs["missing_columns"] = sorted(missing)
    return ScannedWindow(
        frame,
        batches.window,
        batches.days_present,
        batches.days_missing,
        tuple(batches.files),
        summary,
        sample,
        outputs,
        error,
    )
