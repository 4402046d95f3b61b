"""A bounded, thread-safe LRU cache of loaded models, one per process.

Models are loaded lazily on first use and kept until ``EDUAI_MODEL_CACHE_SIZE`` (default 16)
other models have been used since; then the least recently used is dropped. Memory cost per
entry: a fast scorer is a few MB, a fine-tuned MiniLM about 90 MB in fp32 (25 MB int8), so the
default bounds a CPU worker's models to about 1.5 GB (measured in bench/grading.py).
Loading happens outside the lock, so one slow load does not block hits on other models;
two threads missing the same key may both load it and the second result wins (harmless).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings


class ModelCache:
    def __init__(self, maxsize: int | None = None) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0

    @property
    def maxsize(self) -> int:
        return self._maxsize or int(getattr(settings, "EDUAI_MODEL_CACHE_SIZE", 16))

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = loader()
        with self._lock:
            self.loads += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > max(self.maxsize, 1):
                self._items.popitem(last=False)
        return value

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)


MODEL_CACHE = ModelCache()
