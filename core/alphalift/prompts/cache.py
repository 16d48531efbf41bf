"""The model's last few outputs, so moving a point does not run the network again.

Keyed by the pixels the model saw (a digest of the window's bytes), the model and the window: a
host that sends the same layer again with new points finds its probability here, while any
change to the pixels, the model or the box misses, and the network runs as before.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np


def pixels_key(rgb: np.ndarray) -> bytes:
    """A digest of an image's pixels and shape (about 10 ms for 1920x1080)."""
    digest = hashlib.blake2b(repr(rgb.shape).encode(), digest_size=20)
    digest.update(memoryview(np.ascontiguousarray(rgb)).cast("B"))
    return digest.digest()


class RecentCache:
    """The few most recently used values, by key; thread-safe. Values are kept as given: a caller
    stores what nobody will change (see ``frozen``)."""

    def __init__(self, entries: int = 4) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, key: tuple, value: object) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)


def frozen(values: np.ndarray) -> np.ndarray:
    """A read-only copy: a cached array is handed to many callers, none may edit it in place."""
    values = values.copy()
    values.setflags(write=False)
    return values
