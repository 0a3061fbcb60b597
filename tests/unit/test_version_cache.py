"""The version cache: one load per (model, version, run), least recently used dropped."""

from __future__ import annotations

import pytest

from retrain.registry.version_cache import VersionCache, version_cache


def loader(calls: list[str], value: str):  # type: ignore[no-untyped-def]
    def load() -> str:
        calls.append(value)
        return value

    return load


def test_a_version_loads_once_then_hits() -> None:
    cache, calls = VersionCache(), []
    key = ("m", "3", "run-a", "model")
    assert cache.get_or_load(key, loader(calls, "v3")) == "v3"
    assert cache.get_or_load(key, loader(calls, "other")) == "v3"
    assert calls == ["v3"] and (cache.hits, cache.misses) == (1, 1)


def test_another_version_run_or_kind_is_another_entry() -> None:
    cache, calls = VersionCache(), []
    for key in [("m", "1", "r1", "model"), ("m", "2", "r2", "model"), ("m", "1", "r9", "model"),
                ("m", "1", "r1", "state"), ("n", "1", "r1", "model")]:  # fmt: skip
        cache.get_or_load(key, loader(calls, "/".join(key)))
    assert len(calls) == 5 and cache.misses == 5 and cache.hits == 0


def test_least_recently_used_is_dropped_past_the_limit() -> None:
    cache, calls = VersionCache(max_entries=2), []
    a, b, c = (("m", v, "r", "model") for v in "abc")
    cache.get_or_load(a, loader(calls, "a"))
    cache.get_or_load(b, loader(calls, "b"))
    cache.get_or_load(a, loader(calls, "a"))  # a is now the most recent
    cache.get_or_load(c, loader(calls, "c"))  # drops b
    cache.get_or_load(a, loader(calls, "a"))
    cache.get_or_load(b, loader(calls, "b"))
    assert calls == ["a", "b", "c", "b"] and len(cache) == 2


def test_a_failed_load_caches_nothing() -> None:
    cache = VersionCache()

    def broken() -> str:
        raise OSError("S3 down")

    with pytest.raises(OSError, match="S3 down"):
        cache.get_or_load(("m", "1", "r", "model"), broken)
    assert cache.get_or_load(("m", "1", "r", "model"), lambda: "ok") == "ok"


def test_limits_and_the_process_cache() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        VersionCache(0)
    assert version_cache() is version_cache()
    cache = VersionCache()
    cache.get_or_load(("m", "1", "r", "model"), lambda: 1)
    cache.clear()
    assert len(cache) == 0 and cache.hits == cache.misses == 0
