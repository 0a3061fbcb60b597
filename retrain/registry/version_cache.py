"""What a registered model version stores, loaded once per version per process.

A registered version's artifacts (its skops model, reference sample, schema, statistics) never
change once it is registered, so a process that runs many windows (the replay, the demo, a
fleet) reads and deserialises each version once instead of once per window. Keyed by model
name, version and the version's run id (a model deleted and registered again under the same
name starts from version 1 with another run), least recently used dropped past `max_entries`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
VersionKey = tuple[str, str, str, str]  # model name, version, run id, what (model, reference)


class VersionCache:
    """A small LRU of loaded version artifacts with hit and miss counts."""

    def __init__(self, max_entries: int = 16) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[VersionKey, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: VersionKey, load: Callable[[], T]) -> T:
        """The cached value of `key`, else `load()` (outside the lock; a failure caches nothing)."""
        with self._lock:
            if key in self._items:
                self.hits += 1
                self._items.move_to_end(key)
                return self._items[key]
            self.misses += 1
        value = load()
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


_PROCESS_CACHE = VersionCache()


def version_cache() -> VersionCache:
    """The cache of this process (the worker's flow-run process, a test session)."""
    return _PROCESS_CACHE
