"""A small thread-safe store of the most recently used results, for work that depends only on
its key (parsing a module, checking a content change). Pure Python: no Flask, no database."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class RecentResults:
    """Keeps the last ``size`` results by key; the least recently used one goes first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The kept result for ``key``, else ``compute()``, kept unless it raises."""
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        result = compute()
        self.update({key: result})
        return result

    def update(self, results: dict) -> None:
        with self._lock:
            self._results.update(results)
            while len(self._results) > self._size:
                self._results.popitem(last=False)

    def where(self, keep: Callable[[Hashable], bool]) -> dict:
        """A copy of the kept results whose key ``keep`` accepts."""
        with self._lock:
            return {key: result for key, result in self._results.items() if keep(key)}

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
