"""A store seen through a wrapper: ids, length, membership and iteration come from the
wrapped store (`self.store`); the wrapper defines `get`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class StoreView:
    store: Any

    def get(self, rid: str) -> Any:
        raise NotImplementedError

    def ids(self) -> list[str]:
        return self.store.ids()

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, rid: str) -> bool:
        return rid in self.store

    def __iter__(self) -> Iterator[Any]:
        for rid in self.ids():
            yield self.get(rid)
