"""The S3 side of the data contract: `s3://<bucket>/<prefix>/dt=YYYY-MM-DD/<file>.parquet|csv`."""

from __future__ import annotations

import io
import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from retrain.config import Columns, DataSource
from retrain.data.timestamps import utc_timestamps
from retrain.errors import ServiceError, service_call

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".parquet", ".csv")


class DataError(ValueError):
    """Production data that cannot be read; the message names the s3:// URI (and column/row)."""

    def __init__(
        self,
        message: str,
        *,
        uri: str | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        where = [uri or "", f"column {column!r}" if column else "", f"line {line}" if line else ""]
        prefix = ", ".join(w for w in where if w)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.uri, self.column, self.line = uri, column, line


@dataclass(frozen=True)
class Window:
    """Days [start, end) of production data."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    def days(self) -> list[date]:
        """Every day of the window, oldest first."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]


@dataclass(frozen=True)
class LoadedWindow:
    """The rows of a window, which days had partitions, and the S3 keys that were read."""

    frame: pd.DataFrame
    window: Window
    days_present: tuple[date, ...]
    days_missing: tuple[date, ...]
    files: tuple[str, ...]


def s3_uri(bucket: str, key: str) -> str:
    """The s3:// URI of an object."""
    return f"s3://{bucket}/{key}"


def partition_prefix(source: DataSource, day: date) -> str:
    """The key prefix of one day's partition: `<prefix>/dt=YYYY-MM-DD/`."""
    return f"{source.prefix}/dt={day.isoformat()}/"


def _partition_day(relative: str) -> date | None:
    """The day of a key relative to the data prefix (`dt=YYYY-MM-DD/...`), or None."""
    folder, sep, rest = relative.partition("/")
    if not sep or not rest or not folder.startswith("dt=") or len(folder) != 13:
        return None
    try:
        day = date.fromisoformat(folder[3:])
    except ValueError:
        return None
    return day if day.isoformat() == folder[3:] else None


def _is_data_file(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return not name.startswith(("_", ".")) and name.endswith(DATA_SUFFIXES)


def _safe_key(relative: str) -> bool:
    """No empty, '.' or '..' segments and no backslash: the key cannot climb out of its folder."""
    return "\\" not in relative and all(p not in ("", ".", "..") for p in relative.split("/"))


def list_partitions(s3: Any, source: DataSource, window: Window) -> dict[date, list[str]]:
    """Day -> data file keys (sorted) for the days of the window that have a partition."""
    root = f"{source.prefix}/"
    stop = f"dt={window.end.isoformat()}"
    found: dict[date, list[str]] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=source.bucket, Prefix=f"{root}dt=", StartAfter=f"{root}dt={window.start.isoformat()}"
    )
    for page in pages:
        for obj in page.get("Contents", []):
            key: str = obj["Key"]
            relative = key[len(root) :]
            if relative >= stop:
                return {day: sorted(keys) for day, keys in sorted(found.items())}
            day = _partition_day(relative)
            if day is None:
                log.warning("ignoring %s: not below a dt=YYYY-MM-DD/ folder", key)
            elif not _safe_key(relative):
                log.warning("ignoring %s: a key with '.', '..' or empty segments", key)
            elif window.start <= day < window.end and _is_data_file(key):
                found.setdefault(day, []).append(key)
    return {day: sorted(keys) for day, keys in sorted(found.items())}


def missing_buckets(s3: Any, buckets: list[str]) -> list[str]:
    """The buckets that do not exist or cannot be reached with these credentials."""
    missing = []
    for bucket in buckets:
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code not in {"404", "NoSuchBucket", "403", "AccessDenied"}:
                raise
            missing.append(bucket)
    return missing


def _wanted_columns(columns: Columns) -> list[str]:
    return [columns.id, columns.timestamp, *columns.features, columns.label, *columns.optional]


def get_bytes(s3: Any, bucket: str, key: str) -> bytes:
    """The object's bytes; a 4xx is the data's fault (DataError), a 5xx or a dropped connection
    after the client's retries is the service's (ServiceError, worth retrying later)."""
    with _object_errors(s3_uri(bucket, key), "GetObject"):
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def download_object(s3: Any, bucket: str, key: str, path: Path) -> None:
    """The object saved to `path`, streamed 1 MB at a time (never whole in memory: boto3's
    parallel download queues up to 100 parts of 8 MB), errors as in `get_bytes`."""
    with _object_errors(s3_uri(bucket, key), "GetObject"), path.open("wb") as out:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(1 << 20):
            out.write(chunk)


@contextmanager
def _object_errors(uri: str, operation: str) -> Iterator[None]:
    try:
        with service_call("S3", operation, uri):
            yield
    except ServiceError as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and _http_status(cause) < 500:
            raise DataError(f"cannot read object: {cause}", uri=uri) from cause
        raise


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def parquet_file(data: bytes | Path, uri: str) -> pq.ParquetFile:
    """Open a parquet file's metadata (row count, schema) without decoding its data, from its
    bytes or a local file."""
    try:
        return pq.ParquetFile(pa.BufferReader(data) if isinstance(data, bytes) else data)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"corrupt or unreadable parquet file: {exc}", uri=uri) from exc


def _read_parquet(pfile: pq.ParquetFile, uri: str, wanted: list[str]) -> pa.Table:
    """Read the configured columns the parquet file has, as an Arrow table (no pandas copy
    yet); `extra_columns` (the file's other columns) goes in the table's metadata."""
    names = pfile.schema_arrow.names
    try:
        table = pfile.read(columns=[c for c in wanted if c in names])
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"corrupt or unreadable parquet file: {exc}", uri=uri) from exc
    extra = json.dumps([c for c in names if c not in wanted]).encode()
    return table.replace_schema_metadata({b"extra_columns": extra})


def _extra_columns(part: pa.Table | pd.DataFrame) -> list[str]:
    if isinstance(part, pd.DataFrame):
        return list(part.attrs.get("extra_columns", []))
    found = (part.schema.metadata or {}).get(b"extra_columns", b"[]")
    return list(json.loads(found))


def _part_columns(part: pa.Table | pd.DataFrame) -> list[str]:
    return list(part.column_names if isinstance(part, pa.Table) else part.columns)


def _part_rows(part: pa.Table | pd.DataFrame) -> int:
    return part.num_rows if isinstance(part, pa.Table) else len(part)


def utc_arrow_timestamps(table: pa.Table, column: str, uri: str) -> pa.Table:
    """The table with its timestamp column as UTC nanosecond timestamps: cast in Arrow when the
    file stores timestamps (a naive one read as UTC), else parsed as `parse_utc_column` does."""
    if column not in table.column_names:
        return table
    where = table.column_names.index(column)
    values = table.column(column)
    if pa.types.is_timestamp(values.type):
        try:
            converted = values.cast(pa.timestamp("ns", tz="UTC"))
        except (pa.ArrowException, OverflowError) as exc:
            raise DataError(f"timestamps out of range: {exc}", uri=uri, column=column) from exc
        return table.set_column(where, column, converted)
    one = pd.DataFrame({column: values.to_pandas()})
    parse_utc_column(one, column, uri)
    return table.set_column(where, column, pa.Array.from_pandas(one[column]))


def read_csv_strict(data: bytes, uri: str, wanted: list[str]) -> pd.DataFrame:
    """Read a CSV file strictly: a row with too many or too few fields is an error."""
    try:
        frame = pd.read_csv(io.BytesIO(data), engine="pyarrow")
    except pd.errors.EmptyDataError as exc:
        raise DataError("empty CSV file (no header)", uri=uri) from exc
    except (pd.errors.ParserError, pa.ArrowException, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"broken CSV: {exc}", uri=uri, line=_csv_line(data, str(exc))) from exc
    extra = [c for c in frame.columns if c not in wanted]
    frame = frame[[c for c in wanted if c in frame.columns]]
    frame.attrs["extra_columns"] = extra
    return frame


def _csv_line(data: bytes, message: str) -> int | None:
    """The 1-based line number of the row quoted in a pyarrow CSV error, when it can be found."""
    _, sep, text = message.partition(": ")
    _, sep, text = text.partition(": ") if sep else ("", "", "")
    if not sep or not text:
        return None
    for number, line in enumerate(data.splitlines(), start=1):
        if line.decode(errors="replace").rstrip("\r") == text.strip():
            return number
    return None


def parse_utc_column(frame: pd.DataFrame, column: str, uri: str) -> None:
    """Turn the timestamp column into timezone-aware UTC datetimes, in place."""
    if column not in frame.columns:
        return
    values = frame[column]
    parsed = utc_timestamps(values)
    if parsed is None:
        if values.notna().any():
            raise DataError(
                "numeric timestamps; expected datetimes or ISO-8601", uri=uri, column=column
            )
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise DataError(
            f"unparseable timestamp: {int(bad.sum())} values, e.g. {values[bad].iloc[0]!r}",
            uri=uri,
            column=column,
        )
    frame[column] = parsed


def empty_frame(columns: Columns) -> pd.DataFrame:
    """A frame with no rows and the configured columns."""
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in _wanted_columns(columns)})
    for c in [*columns.numeric, columns.label]:
        frame[c] = frame[c].astype("float64")
    frame[columns.timestamp] = pd.Series(dtype="datetime64[ns, UTC]")
    frame.attrs["extra_columns"] = []
    frame.attrs["missing_columns"] = []
    return frame


def load_window(
    s3: Any, source: DataSource, columns: Columns, window: Window, *, max_rows: int | None = None
) -> LoadedWindow:
    """Read every partition of the window; missing days are reported, not fatal.

    One S3 object at a time: its bytes are dropped once the object is decoded into an Arrow
    table of the configured columns; the tables are concatenated and turned into pandas once
    (`to_pandas(self_destruct=True)` frees each Arrow column as it is converted), so the
    window is held about once, not as per-file frames plus their concatenation.
    Only configured columns are kept; `frame.attrs` lists the `extra_columns` the files had
    and the configured `missing_columns` absent from at least one file, for validation.
    """
    partitions = list_partitions(s3, source, window)
    wanted = _wanted_columns(columns)
    parts: list[pa.Table | pd.DataFrame] = []
    files: list[str] = []
    rows = 0
    for key in (k for keys in partitions.values() for k in keys):
        uri = s3_uri(source.bucket, key)
        data = get_bytes(s3, source.bucket, key)
        part: pa.Table | pd.DataFrame
        if key.endswith(".parquet"):
            pfile = parquet_file(data, uri)
            _check_row_limit(window, max_rows, rows + pfile.metadata.num_rows, uri)
            part = utc_arrow_timestamps(_read_parquet(pfile, uri, wanted), columns.timestamp, uri)
            del pfile
        else:
            part = read_csv_strict(data, uri, wanted)
            parse_utc_column(part, columns.timestamp, uri)
        del data
        rows += _part_rows(part)
        _check_row_limit(window, max_rows, rows, uri)
        parts.append(part)
        files.append(key)
    extra = sorted({c for p in parts for c in _extra_columns(p)})
    absent = sorted({c for p in parts for c in wanted if c not in _part_columns(p)})
    result = _combine(parts, wanted) if parts else empty_frame(columns)
    result.attrs["extra_columns"] = extra
    result.attrs["missing_columns"] = absent
    present = tuple(partitions)
    missing = tuple(d for d in window.days() if d not in partitions)
    return LoadedWindow(result, window, present, missing, tuple(files))


class WindowBatches:
    """The window's rows, `batch_rows` at a time, one S3 object at a time: a parquet file is
    downloaded to a temporary file and read one row group at a time (never whole), a CSV
    file is read whole and sliced. Each batch has every configured column (a column a file
    lacks is null there, and listed in `missing_columns`) with UTC timestamps; `files`,
    `extra_columns` and `days_present` are known once iterated. Errors are `load_window`'s."""

    def __init__(
        self,
        s3: Any,
        source: DataSource,
        columns: Columns,
        window: Window,
        *,
        max_rows: int | None = None,
        batch_rows: int = 50_000,
    ) -> None:
        self.s3, self.source, self.columns, self.window = s3, source, columns, window
        self.max_rows, self.batch_rows = max_rows, batch_rows
        self.partitions = list_partitions(s3, source, window)
        self.files: list[str] = []
        self.extra_columns: set[str] = set()
        self.missing_columns: set[str] = set()
        self.rows = 0

    @property
    def days_present(self) -> tuple[date, ...]:
        return tuple(self.partitions)

    @property
    def days_missing(self) -> tuple[date, ...]:
        return tuple(d for d in self.window.days() if d not in self.partitions)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        wanted = _wanted_columns(self.columns)
        with tempfile.TemporaryDirectory(prefix="window-") as tmp:
            for key in (k for keys in self.partitions.values() for k in keys):
                uri = s3_uri(self.source.bucket, key)
                if key.endswith(".parquet"):
                    batches = self._parquet(key, uri, wanted, Path(tmp) / "part.parquet")
                else:
                    batches = self._csv(key, uri, wanted)
                for batch in batches:
                    self.rows += len(batch)
                    _check_row_limit(self.window, self.max_rows, self.rows, uri)
                    yield self._complete(batch, wanted)
                self.files.append(key)

    def _parquet(self, key: str, uri: str, wanted: list[str], path: Path) -> Iterator[pd.DataFrame]:
        download_object(self.s3, self.source.bucket, key, path)
        pfile = parquet_file(path, uri)
        _check_row_limit(self.window, self.max_rows, self.rows + pfile.metadata.num_rows, uri)
        names = pfile.schema_arrow.names
        self.extra_columns.update(c for c in names if c not in wanted)
        present = [c for c in wanted if c in names]
        try:
            for group in range(pfile.num_row_groups):  # one row group decoded at a time
                table = pfile.read_row_group(group, columns=present)
                for start in range(0, table.num_rows, self.batch_rows):
                    part = decode_dictionaries(table.slice(start, self.batch_rows))
                    part = utc_arrow_timestamps(part, self.columns.timestamp, uri)
                    yield part.to_pandas(split_blocks=True)
                del table
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"corrupt or unreadable parquet file: {exc}", uri=uri) from exc
        finally:
            pfile.close()
            pa.default_memory_pool().release_unused()  # mimalloc keeps freed pages otherwise

    def _csv(self, key: str, uri: str, wanted: list[str]) -> Iterator[pd.DataFrame]:
        frame = read_csv_strict(get_bytes(self.s3, self.source.bucket, key), uri, wanted)
        self.extra_columns.update(frame.attrs.get("extra_columns", ()))
        parse_utc_column(frame, self.columns.timestamp, uri)
        for start in range(0, len(frame), self.batch_rows):
            yield frame.iloc[start : start + self.batch_rows]

    def _complete(self, batch: pd.DataFrame, wanted: list[str]) -> pd.DataFrame:
        absent = [c for c in wanted if c not in batch.columns]
        if absent:
            self.missing_columns.update(absent)
            batch = batch.assign(**dict.fromkeys(absent, np.nan))
        batch.attrs = {}
        return batch


def decode_dictionaries(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns as plain values (pandas would make them categoricals)."""
    for i, column in enumerate(table.columns):
        if pa.types.is_dictionary(column.type):
            table = table.set_column(i, table.field(i).name, column.dictionary_decode())
    return table


def _check_row_limit(window: Window, max_rows: int | None, rows: int, uri: str) -> None:
    """Refuse a window with more rows than the configured limit, before reading on."""
    if max_rows is not None and rows > max_rows:
        raise DataError(
            f"window {window.start}..{window.end} exceeds the configured limit of {max_rows} rows "
            f"({rows} rows up to and including this file)",
            uri=uri,
        )


def _combine(parts: list[pa.Table | pd.DataFrame], wanted: list[str]) -> pd.DataFrame:
    """One frame of every file's rows, configured columns first in config order.

    Parquet files whose columns Arrow can put in one table (same names and types, or types
    Arrow promotes losslessly, e.g. int64 and double) are concatenated in Arrow and converted
    once; anything else (CSV, dictionary-encoded columns, types only pandas reconciles) goes
    through pandas' concatenation, as before, so the dtypes are those pandas gives."""
    tables = [p for p in parts if isinstance(p, pa.Table)]
    if len(tables) == len(parts) and not any(_has_dictionary(t) for t in tables):
        try:
            table = pa.concat_tables(
                [t.replace_schema_metadata(None) for t in tables if t.num_rows] or tables[:1],
                promote_options="permissive",
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
        else:
            parts.clear()  # the concatenated table holds the only references to the buffers
            del tables
            order = [c for c in wanted if c in table.column_names]
            if table.column_names != order:
                table = table.select(order)
            return table.to_pandas(self_destruct=True, split_blocks=True)
    frames = [p if isinstance(p, pd.DataFrame) else p.to_pandas() for p in parts]
    parts.clear()
    return _concat(frames, wanted)


def _concat(frames: list[pd.DataFrame], wanted: list[str]) -> pd.DataFrame:
    """One frame, configured columns first in config order, without attrs confusion."""
    for frame in frames:
        frame.attrs = {}
    nonempty = [f for f in frames if len(f)] or frames[:1]
    result = pd.concat(nonempty, ignore_index=True, sort=False, copy=False)
    order = [c for c in wanted if c in result.columns]
    return result if list(result.columns) == order else result[order]


def _has_dictionary(table: pa.Table) -> bool:
    return any(pa.types.is_dictionary(f.type) for f in table.schema)


def write_partition(
    s3: Any,
    source: DataSource,
    day: date,
    frame: pd.DataFrame,
    *,
    name: str = "part-0000",
    row_group_rows: int | None = None,
) -> str:
    """Write one file of a day's partition in the source's format; returns its key.
    `row_group_rows`: rows per parquet row group (pyarrow's default, 1Mi, when None)."""
    key = f"{partition_prefix(source, day)}{name}.{source.format}"
    buffer = io.BytesIO()
    if source.format == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, buffer, row_group_size=row_group_rows)
        content_type = "application/vnd.apache.parquet"
    else:
        frame.to_csv(buffer, index=False)
        content_type = "text/csv"
    s3.put_object(Bucket=source.bucket, Key=key, Body=buffer.getvalue(), ContentType=content_type)
    return key


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def put_json(s3: Any, bucket: str, key: str, obj: Any) -> None:
    """Store an object as pretty, key-sorted JSON."""
    body = json.dumps(obj, indent=2, sort_keys=True, default=_json_default).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def get_json(s3: Any, bucket: str, key: str) -> Any | None:
    """The JSON stored at the key, or None when there is no such object."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise
    return json.loads(body)


def list_json(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Keys of the JSON objects below the prefix, sorted."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json"))
    return sorted(keys)


def prefix_has_partitions(s3: Any, source: DataSource) -> bool:
    """Whether the data prefix holds any `dt=` partition at all, on any day (one LIST call):
    a window with no rows under a prefix never written to is a config problem, not a quiet day."""
    found = s3.list_objects_v2(Bucket=source.bucket, Prefix=f"{source.prefix}/dt=", MaxKeys=1)
    return bool(found.get("KeyCount") or found.get("Contents"))
