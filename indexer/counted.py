"""The work-order history's counted set: which orders were counted, so that a catch-up counts each once.

Orders counted within :data:`COUNTED_HORIZON` of the high-water mark, as a sorted ``uint64`` array of
id hashes with a parallel ``int32`` array of minutes received, plus a small dict of single additions
merged into the arrays on :meth:`CountedSet.merge`. The design: docs/ARCHITECTURE.md ("Work-order
history"). Not thread-safe: the owning :class:`~indexer.history.WorkOrderHistory` holds its lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = ["COUNTED_HORIZON", "CountedSet", "id_hash", "id_hashes", "minutes"]

#: How far before the high-water mark counted orders are remembered (by id hash), so that a
#: catch-up re-reading an overlap up to this long counts each order once. The longest overlap.
COUNTED_HORIZON = timedelta(days=7)
#: Single additions remembered in a dict before they are merged into the sorted hash array.
COUNTED_FRESH_MAX = 4096
_EPOCH = datetime(2020, 1, 1)  # of the minutes stored (part of the file format)
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]


def id_hashes(ids: Iterable[str]) -> U64:
    """Stable 64-bit hashes of work-order ids (BLAKE2b, not the per-process ``hash()``)."""
    blob = b"".join(hashlib.blake2b(i.encode("utf-8"), digest_size=8).digest() for i in ids)
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def id_hash(order_id: str) -> int:
    return int(id_hashes((order_id,))[0])


def minutes(when: datetime) -> int:
    """Minutes since 2020-01-01 (the counted set's timestamps; int32 lasts past the year 6000)."""
    return int((when - _EPOCH).total_seconds() // 60)


class CountedSet:
    """Id hashes of the orders counted within the horizon: 12 bytes each once merged."""

    def __init__(self, hashes: U64 | None = None, minutes_at: I32 | None = None) -> None:
        self.hashes: U64 = np.zeros(0, dtype=np.uint64) if hashes is None else hashes.astype(np.uint64)
        self.minutes: I32 = np.zeros(0, dtype=np.int32) if minutes_at is None else minutes_at.astype(np.int32)
        if len(self.hashes) != len(self.minutes):
            raise ValueError("history summary counted set does not match")
        self.fresh: dict[int, int] = {}  # single additions since the last merge: hash -> minutes

    def __contains__(self, h: object) -> bool:
        """Whether an order (by id hash) was counted: in the fresh dict or the sorted array."""
        if h in self.fresh:
            return True
        if not isinstance(h, int):
            return False
        a = self.hashes
        i = int(np.searchsorted(a, np.uint64(h)))
        return i < len(a) and int(a[i]) == h

    def known(self, hashes: U64) -> npt.NDArray[np.bool_]:
        """Vectorised membership of ``hashes`` in the sorted array (not the fresh dict)."""
        a = self.hashes
        if not len(a) or not len(hashes):
            return np.zeros(len(hashes), dtype=bool)
        idx = np.minimum(np.searchsorted(a, hashes), len(a) - 1)
        return np.asarray(a[idx] == hashes, dtype=bool)

    def add(self, h: int, when: datetime) -> None:
        """Remember one order in the fresh dict (call :meth:`merge` when :meth:`crowded`)."""
        self.fresh[h] = minutes(when)

    def crowded(self) -> bool:
        return len(self.fresh) > COUNTED_FRESH_MAX

    def merge(self, high_water: datetime | None, extra_h: U64 | None = None, extra_t: I32 | None = None, *,
              resort: bool = False) -> None:
        """Merge fresh hashes (and ``extra_*``) into the sorted array; drop those older than the horizon."""
        parts_h = [self.hashes]
        parts_t = [self.minutes]
        if self.fresh:
            parts_h.append(np.fromiter(self.fresh.keys(), dtype=np.uint64, count=len(self.fresh)))
            parts_t.append(np.fromiter(self.fresh.values(), dtype=np.int32, count=len(self.fresh)))
            self.fresh = {}
        if extra_h is not None and extra_t is not None and len(extra_h):
            parts_h.append(extra_h.astype(np.uint64))
            parts_t.append(extra_t.astype(np.int32))
        h = np.concatenate(parts_h) if len(parts_h) > 1 else parts_h[0]
        t = np.concatenate(parts_t) if len(parts_t) > 1 else parts_t[0]
        if high_water is not None:
            keep = t >= minutes(high_water - COUNTED_HORIZON)
            if not keep.all():
                h, t = h[keep], t[keep]
        if len(parts_h) > 1 or resort:
            order = np.argsort(h, kind="stable")  # sorted runs: close to a linear merge
            h, t = h[order], t[order]
            if len(h) > 1:
                first = np.flatnonzero(np.concatenate([[True], h[1:] != h[:-1]]))
                if len(first) < len(h):  # the same id twice: keep its newest time
                    t = np.maximum.reduceat(t, first)
                    h = h[first]
        self.hashes = np.ascontiguousarray(h, dtype=np.uint64)
        self.minutes = np.ascontiguousarray(t, dtype=np.int32)

    def nbytes(self) -> int:
        """Size of the arrays: 12 bytes per remembered order (fresh dict not included)."""
        return int(self.hashes.nbytes + self.minutes.nbytes)
