"""A bounded, thread-safe LRU cache of loaded models, one per process.

Models are loaded lazily on first use and kept until ``EDUAI_MODEL_CACHE_SIZE`` (default 16)
other models have been used since, or until the cached tensors pass ``EDUAI_MODEL_CACHE_MB``
(default 1024 MB); then the least recently used are dropped (the newest always stays).
Why both: a fast scorer weighs a few MB and shares the one cached encoder, but each fine-tuned
MiniLM carries its own encoder, and ten of them loaded in fp32 made a worker 2.3 GB RSS
(bench/grading.py --memory), past the 1.5 GB budget; a count alone cannot tell the two apart.
The weight of an entry is the bytes of the torch parameters, buffers and packed int8 Linear weights
it holds (found on the object and its attributes, two levels deep); entries without tensors count
``LIGHT_MB``. For an int8 fine-tuned MiniLM-L6 that is 56 MB against about 60 MB of RSS measured per
loaded scorer (the fp32 embeddings stay file-mapped and are touched only in part).
Loading happens outside the lock, so one slow load does not block hits on other models;
two threads missing the same key may both load it and the second result wins (harmless).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings

LIGHT_MB = 5.0


def weight_mb(value: Any) -> float:
    """Megabytes of torch tensors ``value`` holds (itself, its attributes and theirs), else LIGHT_MB."""
    torch = sys.modules.get("torch")  # never import torch for a cache of light models
    if torch is None:
        return LIGHT_MB
    seen: set[int] = set()
    total = 0
    frontier, visited = [value], set()
    for _depth in range(3):
        nxt: list[Any] = []
        for obj in frontier:
            if id(obj) in visited:
                continue
            visited.add(id(obj))
            if isinstance(obj, torch.nn.Module):
                for t in [*obj.parameters(), *obj.buffers(), *_packed_tensors(obj)]:
                    ptr = t.data_ptr()
                    if ptr not in seen:
                        seen.add(ptr)
                        total += t.numel() * t.element_size()
                continue
            nxt.extend(v for v in getattr(obj, "__dict__", {}).values() if not isinstance(v, str | bytes | int | float))
        frontier = nxt
    return max(total / 2**20, LIGHT_MB)


def _packed_tensors(module: Any) -> list[Any]:
    """The weights and biases of dynamically quantised Linear layers: they live in packed params,
    not in ``parameters()``, so an int8 MiniLM-L6 counted only its fp32 embeddings (46 of 56 MB)."""
    out: list[Any] = []
    for m in module.modules():
        packed = getattr(m, "_packed_params", None)
        unpack = getattr(packed, "_weight_bias", None)
        if unpack is None:
            continue
        try:
            out.extend(t for t in unpack() if t is not None)
        except (RuntimeError, TypeError):
            continue
    return out


def _return_freed_memory() -> None:
    """Hand an evicted model's freed heap pages back to the OS (glibc ``malloc_trim``): most of a
    model's tensors are a few MB, allocated on the heap, and free() alone keeps their pages."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class ModelCache:
    def __init__(self, maxsize: int | None = None, max_mb: float | None = None) -> None:
        self._maxsize = maxsize
        self._max_mb = max_mb
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._weights: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        self.loads = 0

    @property
    def maxsize(self) -> int:
        return self._maxsize or int(getattr(settings, "EDUAI_MODEL_CACHE_SIZE", 16))

    @property
    def max_mb(self) -> float:
        return self._max_mb or float(getattr(settings, "EDUAI_MODEL_CACHE_MB", 1024))

    @property
    def total_mb(self) -> float:
        with self._lock:
            return sum(self._weights.values())

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = loader()
        weight = weight_mb(value)
        with self._lock:
            self.loads += 1
            self._items[key] = value
            self._weights[key] = weight
            self._items.move_to_end(key)
            evicted: list[tuple[Hashable, Any]] = []
            while len(self._items) > 1 and (
                len(self._items) > self.maxsize or sum(self._weights.values()) > self.max_mb
            ):
                evicted.append(self._items.popitem(last=False))
                self._weights.pop(evicted[-1][0], None)
        evicted.clear()  # the last references to evicted models: they are freed here
        if sys.modules.get("torch") is not None:
            # Loading a model frees temporaries (quantize_dynamic copies the fp32 network) and
            # eviction frees whole models; give those pages back rather than keep them resident.
            _return_freed_memory()
        return value

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._weights.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weights.clear()

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)


MODEL_CACHE = ModelCache()
