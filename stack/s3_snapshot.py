"""S3 state across restarts: LocalStack's open-source edition keeps S3 in memory only.

    python -m stack.s3_snapshot save | restore | every SECONDS

`save` copies every object of every bucket into the snapshot folder (incremental: only objects
whose ETag changed are downloaded, deleted ones are dropped); `restore` puts them back through
the S3 API. The stack restores right after LocalStack is ready, saves every
`RETRAIN_S3_SNAPSHOT_SECONDS` (30 s) while it runs (the `s3-saver` service: `every`), and saves a
last time on `make down` before LocalStack stops. A SIGKILL or crash of LocalStack therefore loses
at most the S3 writes since the last periodic save. A save refuses to run against a LocalStack
that restarted (a new session id) before the snapshot was restored into it, so a crashed and
restarted LocalStack, empty, never overwrites the snapshot.

Layout: `manifest.json` maps bucket -> key -> ETag, size, content type; each object's bytes are
in `objects/<sha256 of bucket and key>`, so no S3 key ever becomes a local path. The manifest is
replaced atomically after the objects are written; a save cut short leaves the previous manifest,
whose objects are all still there (or newer).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STAMP = "last-save"
SESSION = "restored-session"  # LocalStack's session id the snapshot was last restored into

Manifest = dict[str, dict[str, dict[str, Any]]]  # bucket -> key -> entry


@dataclass(frozen=True)
class Saved:
    """What one save did."""

    objects: int
    downloaded: int
    dropped: int
    bytes: int
    seconds: float


class NotRestored(RuntimeError):
    """LocalStack restarted (a new session) and the snapshot was not put back into it yet."""


def localstack_session(s3: Any) -> str | None:
    """The running LocalStack's session id (new on every start); None for another S3."""
    try:
        url = f"{s3.meta.endpoint_url.rstrip('/')}/_localstack/info"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return str(json.loads(resp.read())["session_id"])
    except (OSError, ValueError, KeyError):
        return None


def _check_restored(s3: Any, folder: Path) -> None:
    """Refuse to save a LocalStack the snapshot was not restored into: a crashed and restarted
    LocalStack starts empty, and saving it would drop every object from the snapshot."""
    session = localstack_session(s3)
    marker = folder / SESSION
    if session is None or not (folder / MANIFEST).exists():
        return
    if not marker.exists() or marker.read_text().strip() != session:
        raise NotRestored(
            f"LocalStack restarted since the snapshot in {folder} was restored; not saving over "
            "it (`make up` restores it, or `python -m stack.s3_snapshot restore`)"
        )


def s3_client() -> Any:
    """The project's S3 client for the stack's S3 (LocalStack), from the RETRAIN_* settings."""
    from retrain.clients import s3_client as client
    from retrain.settings import get_settings

    return client(get_settings())


def _blob(folder: Path, bucket: str, key: str) -> Path:
    digest = hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()
    return folder / "objects" / digest[:2] / digest


def load_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text())["buckets"])


def _write_manifest(folder: Path, buckets: Manifest) -> None:
    tmp = folder / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"version": 1, "buckets": buckets}))
    os.replace(tmp, folder / MANIFEST)


def _download(s3: Any, bucket: str, key: str, target: Path) -> dict[str, Any]:
    resp = s3.get_object(Bucket=bucket, Key=key)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with tmp.open("wb") as out:
        shutil.copyfileobj(resp["Body"], out, 1 << 20)
    os.replace(tmp, target)
    return {
        "etag": resp["ETag"],
        "size": target.stat().st_size,
        "content_type": resp.get("ContentType"),
    }


def save(s3: Any, folder: Path) -> Saved:
    """Bring the snapshot up to date with S3 (every bucket, every object)."""
    began = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    _check_restored(s3, folder)
    old = load_manifest(folder)
    new: Manifest = {}
    downloaded = 0
    for bucket in sorted(b["Name"] for b in s3.list_buckets().get("Buckets", [])):
        entries: dict[str, dict[str, Any]] = {}
        known = old.get(bucket, {})
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                key, prev = obj["Key"], known.get(obj["Key"])
                blob = _blob(folder, bucket, key)
                if (
                    prev is not None
                    and (prev["etag"], prev["size"]) == (obj["ETag"], obj["Size"])
                    and blob.exists()
                ):
                    entries[key] = prev
                    continue
                try:
                    entries[key] = _download(s3, bucket, key, blob)
                except s3.exceptions.NoSuchKey:
                    continue  # deleted between the listing and the download
                downloaded += 1
        new[bucket] = entries
    _write_manifest(folder, new)
    dropped = _drop_unlisted(folder, new)
    size = sum(e["size"] for entries in new.values() for e in entries.values())
    (folder / STAMP).write_text(f"{time.time():.0f}\n")
    count = sum(map(len, new.values()))
    return Saved(count, downloaded, dropped, size, time.monotonic() - began)


def _drop_unlisted(folder: Path, manifest: Manifest) -> int:
    """Delete the stored bytes of objects no longer in S3 (after the manifest forgot them)."""
    keep = {_blob(folder, b, k) for b, entries in manifest.items() for k in entries}
    dropped = 0
    for path in (folder / "objects").glob("*/*"):
        if path not in keep:
            path.unlink(missing_ok=True)
            dropped += 1
    return dropped


def restore(s3: Any, folder: Path) -> tuple[int, int]:
    """Put every saved object that S3 lacks back (creating missing buckets); (objects, bytes)
    restored. Safe to run against a live S3: existing objects are left alone."""
    manifest = load_manifest(folder)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    jobs = []
    for bucket, entries in manifest.items():
        live: set[str] = set()
        if bucket in existing:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                live.update(o["Key"] for o in page.get("Contents", []))
        else:
            s3.create_bucket(Bucket=bucket)
        # an object already in S3 is newer than the snapshot: never overwritten
        jobs += [(bucket, key, entry) for key, entry in entries.items() if key not in live]

    def put(job: tuple[str, str, dict[str, Any]]) -> None:
        bucket, key, entry = job
        extra = {"ContentType": entry["content_type"]} if entry.get("content_type") else {}
        with _blob(folder, bucket, key).open("rb") as body:
            resp = s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        entry["etag"] = resp["ETag"]  # a multipart original gets a new ETag: no re-download

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, jobs))
    if jobs:
        _write_manifest(folder, manifest)
    session = localstack_session(s3)
    if session is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SESSION).write_text(session + "\n")
    return len(jobs), sum(entry["size"] for _, _, entry in jobs)


def describe(folder: Path) -> str:
    """One line: how many objects the snapshot holds and when it was last saved."""
    manifest = load_manifest(folder)
    if not manifest:
        return "no snapshot yet"
    count = sum(map(len, manifest.values()))
    size = sum(e["size"] for entries in manifest.values() for e in entries.values())
    stamp = folder / STAMP
    age = f"{time.time() - stamp.stat().st_mtime:.0f} s ago" if stamp.exists() else "never"
    return f"{count} objects, {size / 1e6:.1f} MB, last saved {age}"


def every(s3: Any, folder: Path, seconds: float) -> None:
    """Save now, every `seconds`, and once more on SIGTERM (a save under way finishes first)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.is_set():
        try:
            done = save(s3, folder)
            if done.downloaded or done.dropped:
                print(
                    f"saved {done.objects} objects ({done.downloaded} new or changed, "
                    f"{done.dropped} dropped) in {done.seconds:.1f}s",
                    flush=True,
                )
        except Exception as exc:  # S3 busy or restarting: the next round tries again
            print(f"save failed, retrying in {seconds:.0f}s: {type(exc).__name__}: {exc}")
        stop.wait(seconds)
    with contextlib.suppress(NotRestored):
        save(s3, folder)


def main(argv: list[str]) -> int:
    from stack.base import stack_settings

    folder = stack_settings().s3_snapshot_dir
    if argv[:1] == ["save"]:
        done = save(s3_client(), folder)
        print(f"saved {done.objects} objects ({done.bytes / 1e6:.1f} MB) to {folder}")
    elif argv[:1] == ["restore"]:
        count, size = restore(s3_client(), folder)
        print(f"restored {count} objects ({size / 1e6:.1f} MB) from {folder}")
    elif argv[:1] == ["every"] and len(argv) == 2:
        every(s3_client(), folder, float(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
