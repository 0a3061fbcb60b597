"""A label feed: outcomes in their own daily partitions (day of arrival), joined to rows by id.

`read_feed` reads the feed's partitions of a window's days (arrivals before `as_of` only), a
file at a time and a parquet row group at a time, keeping three columns (id, label, arrival);
every id's last arrival wins (`FeedLabels`: duplicates and corrections counted). `FeedLabels.join`
then fills a batch of production rows with its label and arrival time (`maturity.ARRIVED`) and
marks the feed labels it matched, so the labels nobody predicted (orphans) are known once every
batch went through. The window itself still streams: the join is per batch; only the feed's
three compact columns are held, about as many rows as the window has labels.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from retrain.config import ConfigError, DataSource, LabelFeed, ModelConfig
from retrain.data.maturity import ARRIVED, day_start
from retrain.data.s3 import (
    DataError,
    Window,
    decode_dictionaries,
    download_object,
    get_bytes,
    list_partitions,
    missing_buckets,
    parquet_file,
    parse_utc_column,
    prefix_has_partitions,
    read_csv_strict,
    s3_uri,
    utc_arrow_timestamps,
)

FEED_ATTR = "label_feed"  # frame.attrs key of the feed's counts (FeedLabels.to_dict)

_ID, _LABEL, _AT = "id", "label", "arrived_at"  # the feed's columns once read


def feed(config: ModelConfig) -> LabelFeed:
    """The model's label feed (a config without one is a caller's mistake)."""
    if config.labels is None:
        raise ValueError(f"model config {config.name!r} has no label feed (labels)")
    return config.labels


def feed_source(config: ModelConfig) -> DataSource:
    """Where the feed's partitions are, as a data source."""
    labels = feed(config)
    bucket = labels.bucket or config.data.bucket
    return DataSource(bucket=bucket, prefix=labels.prefix, format=labels.format)


def feed_columns(config: ModelConfig) -> dict[str, str]:
    """The feed's column names: id, label and arrival time."""
    labels = feed(config)
    return {
        _ID: labels.id or config.columns.id,
        _LABEL: labels.label or config.columns.label,
        _AT: labels.arrived_at,
    }


def check_feed_prefix(s3: Any, config: ModelConfig) -> None:
    """A ConfigError naming `labels.prefix` when the feed has no partition on any day (a typo,
    or the feed was never written): asked before a run reads anything."""
    source = feed_source(config)
    if missing_buckets(s3, [source.bucket]):
        raise ConfigError(
            f"bucket {source.bucket!r} of the label feed (labels.bucket, else data.bucket, of "
            f"the model config of {config.name!r}) does not exist"
        )
    if not prefix_has_partitions(s3, source):
        raise ConfigError(
            f"label feed s3://{source.bucket}/{source.prefix}/ has no dt=YYYY-MM-DD/ partition "
            f"on any day: check labels.prefix ({source.prefix!r}) and labels.bucket in the model "
            f"config of {config.name!r}"
        )


@dataclass
class FeedLabels:
    """Each id's last-arrived label among the feed rows read, and what reading folded away."""

    ids: pd.Index
    labels: pd.Series
    arrived: pd.Series  # datetime64[ns, UTC]
    rows: int  # feed rows read (valid ones: an id, a label)
    duplicates: int  # rows superseded by a later arrival of the same id
    corrected: int  # ids whose labels differ between their arrivals (a correction)
    invalid: int  # rows without an id or a label, dropped
    files: tuple[str, ...] = ()
    days_present: tuple[date, ...] = ()
    matched: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if len(self.matched) != len(self.ids):
            self.matched = np.zeros(len(self.ids), dtype=bool)

    @property
    def orphans(self) -> int:
        """Feed labels no joined row had the id of (so far)."""
        return int((~self.matched).sum())

    def join(self, batch: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
        """The batch with its label and arrival time from the feed (null where no label
        arrived); the matched feed labels are marked. The batch's own label column, if any,
        is replaced: with a feed, the feed is the source of labels."""
        id_column, label = config.columns.id, config.columns.label
        ids = batch[id_column]
        if len(ids) and len(self.ids) and _kind(ids.dtype) != _kind(self.ids.dtype):
            raise DataError(
                f"ids of the data ({ids.dtype}) and of the label feed ({self.ids.dtype}) differ "
                "in type, so none would match; write both as integers or both as strings",
                column=id_column,
            )
        at = self.ids.get_indexer(ids) if len(self.ids) else np.full(len(ids), -1)
        found = at >= 0
        self.matched[at[found]] = True
        take = np.where(found, at, 0)
        labels = self.labels.iloc[take] if len(self.labels) else pd.Series(np.nan, index=ids.index)
        arrived = (
            self.arrived.iloc[take]
            if len(self.arrived)
            else pd.Series(pd.NaT, index=ids.index, dtype="datetime64[ns, UTC]")
        )
        out = batch.copy(deep=False)
        out[label] = _null_where(labels.reset_index(drop=True), ~found).set_axis(batch.index)
        out[ARRIVED] = arrived.reset_index(drop=True).where(found).set_axis(batch.index)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The feed part of the decision record's `labels`."""
        return {
            "feed_rows": self.rows,
            "feed_labels": len(self.ids),
            "duplicates": self.duplicates,
            "corrected": self.corrected,
            "invalid": self.invalid,
            "orphans": self.orphans,
            "feed_files": len(self.files),
            "feed_days": [d.isoformat() for d in self.days_present],
        }


def _kind(dtype: Any) -> str:
    return "number" if pd.api.types.is_numeric_dtype(dtype) else "other"


def _null_where(values: pd.Series, missing: np.ndarray) -> pd.Series:
    """Values with nulls where `missing`; numbers as float64, as a masked label column is."""
    try:
        return values.astype("float64").where(~missing)
    except (TypeError, ValueError):
        return values.where(~missing)


def read_feed(s3: Any, config: ModelConfig, window: Window, as_of: date) -> FeedLabels:
    """The feed's labels that arrived on the window's days and before `as_of`, one per id.

    A file lacking the id, label or arrival column is a DataError naming the file and the
    config field, raised at the first such file (before the production rows are read)."""
    source = feed_source(config)
    names = feed_columns(config)
    days = Window(window.start, min(window.end, as_of))
    partitions = list_partitions(s3, source, days)
    pieces: list[pd.DataFrame] = []
    files: list[str] = []
    for day, keys in partitions.items():
        for key in keys:
            for piece in _read_file(s3, source, key, names, day):
                pieces.append(piece)
            files.append(key)
    frame = (
        pd.concat(pieces, ignore_index=True)
        if pieces
        else pd.DataFrame(
            {
                _ID: pd.Series(dtype="object"),
                _LABEL: pd.Series(dtype="float64"),
                _AT: pd.Series(dtype="datetime64[ns, UTC]"),
            }
        )
    )
    frame = frame[frame[_AT] < day_start(as_of)]
    labels = fold_arrivals(frame)
    labels.files, labels.days_present = tuple(files), tuple(partitions)
    return labels


def fold_arrivals(frame: pd.DataFrame) -> FeedLabels:
    """One label per id from feed rows (`id`, `label`, `arrived_at`): the last arrival wins
    (ties: the row read last); repeated ids are counted, and corrections (an id whose labels
    differ between arrivals) too. Rows without an id or a label are dropped and counted."""
    valid = frame[_ID].notna() & frame[_LABEL].notna()
    invalid = int((~valid).sum())
    frame = frame[valid]
    ordered = frame.sort_values(_AT, kind="stable")
    repeated = ordered[_ID].duplicated(keep=False).to_numpy()
    corrected = 0
    if repeated.any():
        arrivals = ordered[repeated]
        corrected = int((arrivals.groupby(_ID, sort=False)[_LABEL].nunique() > 1).sum())
    last = ordered[~ordered[_ID].duplicated(keep="last").to_numpy()]
    return FeedLabels(
        ids=pd.Index(last[_ID].to_numpy()),
        labels=last[_LABEL].reset_index(drop=True),
        arrived=last[_AT].reset_index(drop=True),
        rows=len(frame),
        duplicates=len(frame) - len(last),
        corrected=corrected,
        invalid=invalid,
    )


def _read_file(
    s3: Any, source: DataSource, key: str, names: dict[str, str], day: date
) -> list[pd.DataFrame]:
    """One feed file's rows as frames of `id`, `label`, `arrived_at` (UTC; null: the day)."""
    uri = s3_uri(source.bucket, key)
    if key.endswith(".csv"):
        frame = read_csv_strict(get_bytes(s3, source.bucket, key), uri, list(names.values()))
        _require(list(frame.columns), names, uri)
        parse_utc_column(frame, names[_AT], uri)
        return [_renamed(frame, names, day)]
    out: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="label-feed-") as folder:
        path = Path(folder) / "part.parquet"
        download_object(s3, source.bucket, key, path)
        pfile = parquet_file(path, uri)
        try:
            _require(pfile.schema_arrow.names, names, uri)
            for group in range(pfile.num_row_groups):
                table = pfile.read_row_group(group, columns=list(dict.fromkeys(names.values())))
                table = utc_arrow_timestamps(decode_dictionaries(table), names[_AT], uri)
                out.append(_renamed(table.to_pandas(), names, day))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"corrupt or unreadable parquet file: {exc}", uri=uri) from exc
        finally:
            pfile.close()
    return out


_FIELDS = {_ID: "labels.id", _LABEL: "labels.label", _AT: "labels.arrived_at"}


def _require(present: list[str], names: dict[str, str], uri: str) -> None:
    for role, column in names.items():
        if column not in present:
            raise DataError(
                f"the label feed has no {role} column {column!r} ({_FIELDS[role]} in the model "
                f"config); the file's columns: {sorted(present)}",
                uri=uri,
                column=column,
            )


def _renamed(frame: pd.DataFrame, names: dict[str, str], day: date) -> pd.DataFrame:
    arrived = frame[names[_AT]]
    if arrived.isna().any():  # an arrival without a time arrived on its partition's day
        arrived = arrived.fillna(pd.Timestamp(day_start(day)))
    return pd.DataFrame(
        {_ID: frame[names[_ID]].to_numpy(), _LABEL: frame[names[_LABEL]].to_numpy(), _AT: arrived}
    ).reset_index(drop=True)


def with_feed_labels(
    s3: Any, config: ModelConfig, frame: pd.DataFrame, window: Window, as_of: date
) -> pd.DataFrame:
    """A loaded window's rows with their labels from the feed (arrivals on the window's days,
    before `as_of`), the feed's counts in `attrs[FEED_ATTR]`; unchanged without a feed. Labels
    not known at a given day are then nulled by `retrain.data.maturity` (arrival times decide)."""
    if config.labels is None:
        return frame
    labels = read_feed(s3, config, window, as_of)
    attrs = dict(frame.attrs)
    joined = labels.join(frame, config)
    missing = [c for c in attrs.get("missing_columns", []) if c != config.columns.label]
    joined.attrs = {**attrs, "missing_columns": missing, FEED_ATTR: labels.to_dict()}
    return joined


def joiner(labels: FeedLabels, config: ModelConfig) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The per-batch join, for `WindowBatches(join=...)`."""
    return lambda batch: labels.join(batch, config)
