"""The work-order history's recent window: the newest orders one by one, with an inverted index.

It gives the "similar past case" reasons and open cases with similar text at the same address, and
lets an order re-read while it is in the window replace its earlier contribution. The design:
docs/ARCHITECTURE.md ("Work-order history"). Not thread-safe: the owning
:class:`~indexer.history.WorkOrderHistory` holds its lock around every call.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kb.dto import WorkOrderView

__all__ = ["PastCase", "RecentOrder", "RecentWindow"]

RECENT_TERMS = 40  # strongest terms of an order kept in the window
QUERY_TERMS = 16  # strongest query terms looked up in the recent window
_Vec = dict[str, float]


@dataclass(frozen=True)
class PastCase:
    """A recent work order similar to the text (from the recent window)."""

    id: str
    received_at: datetime
    text: str
    department_id: int | None
    category: str
    status: str
    returned: bool
    district: str
    street: str
    similarity: float


@dataclass
class RecentOrder:
    id: str
    received_at: datetime
    text: str
    department_id: int | None
    category: str
    status: str
    returned: bool
    district: str
    street: str
    handling: str
    vec: _Vec
    weight: float  # forward-decay factor it was added with
    norm: float | None = None  # idf-weighted norm of vec, computed on first use

    @classmethod
    def of(cls, wo: WorkOrderView, vec: _Vec, weight: float) -> RecentOrder:
        return cls(id=wo.id, received_at=wo.received_at, text=wo.text[:160], department_id=wo.department_id,
                   category=wo.category, status=wo.status, returned=wo.returned, district=wo.district,
                   street=wo.street, handling=wo.handling, vec=vec, weight=weight)

    def same_classes(self, wo: WorkOrderView) -> bool:
        return (self.department_id, self.category, self.status, self.returned, self.handling) == (
            wo.department_id, wo.category, wo.status, wo.returned, wo.handling)

    def set_norm(self, idf_of: Callable[[str], float]) -> None:
        self.norm = math.sqrt(sum((x * idf_of(t)) ** 2 for t, x in self.vec.items())) or 1.0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.received_at.isoformat(), "text": self.text, "d": self.department_id,
                "c": self.category, "s": self.status, "r": self.returned, "di": self.district, "st": self.street,
                "h": self.handling, "v": self.vec, "w": self.weight}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RecentOrder:
        return cls(id=raw["id"], received_at=datetime.fromisoformat(raw["at"]), text=raw["text"],
                   department_id=raw["d"], category=raw["c"], status=raw["s"], returned=raw["r"],
                   district=raw["di"], street=raw["st"], handling=raw["h"], vec=dict(raw["v"]),
                   weight=float(raw["w"]))


class RecentWindow:
    """The ``size`` newest orders (by date received), by id, with term → ids postings."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._orders: dict[str, RecentOrder] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._postings: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def __iter__(self) -> Iterator[str]:
        return iter(self._orders)

    def get(self, order_id: str) -> RecentOrder | None:
        return self._orders.get(order_id)

    def orders(self) -> Iterator[RecentOrder]:
        return iter(self._orders.values())

    def remember(self, rec: RecentOrder) -> None:
        """Keep ``rec`` if it is among the ``size`` newest orders (by date received)."""
        if len(self._orders) >= self.size and self._heap and rec.received_at < self._heap[0][0]:
            return
        if len(rec.vec) > RECENT_TERMS:  # the window keeps the strongest terms only (memory)
            rec.vec = dict(sorted(rec.vec.items(), key=lambda kv: -kv[1])[:RECENT_TERMS])
        self._orders[rec.id] = rec
        heapq.heappush(self._heap, (rec.received_at, rec.id))
        for term in rec.vec:
            self._postings.setdefault(term, set()).add(rec.id)
        while len(self._orders) > self.size and self._heap:
            at, cid = heapq.heappop(self._heap)
            oldest = self._orders.get(cid)
            if oldest is not None and oldest.received_at == at:
                del self._orders[cid]
                self._unindex(oldest)

    def forget(self, rec: RecentOrder) -> None:
        """Take ``rec`` out of the window (its heap entry goes stale and is skipped when popped)."""
        self._unindex(rec)
        del self._orders[rec.id]

    def _unindex(self, rec: RecentOrder) -> None:
        for term in rec.vec:
            ids = self._postings.get(term)
            if ids is not None:
                ids.discard(rec.id)
                if not ids:
                    del self._postings[term]

    def keep_terms(self, vocabulary: Mapping[str, int]) -> None:
        """Drop the postings of terms no longer in the vocabulary (after a compaction dropped some)."""
        for term in [t for t in self._postings if t not in vocabulary]:
            del self._postings[term]

    def similar(self, vec: Mapping[str, float], idf_of: Callable[[str], float], *, limit: int,
                min_similarity: float, district: str | None, street: str | None, open_only: bool,
                max_postings: int) -> list[PastCase]:
        """Orders most similar to ``vec`` (cosine of idf-weighted term vectors); see WorkOrderHistory.similar."""
        if not vec:
            return []
        idf = {term: idf_of(term) for term in vec}
        q = {t: x * idf[t] for t, x in vec.items() if idf[t] > 0}
        qn = math.sqrt(sum(v * v for v in q.values())) or 1.0
        scores: dict[str, float] = {}
        for term, qx in sorted(q.items(), key=lambda kv: -kv[1])[:QUERY_TERMS]:
            ids = self._postings.get(term)
            if not ids or len(ids) > max_postings:
                continue
            w = qx * idf[term]
            for cid in ids:
                scores[cid] = scores.get(cid, 0.0) + w * self._orders[cid].vec[term]
        out: list[PastCase] = []
        for cid, s in sorted(scores.items(), key=lambda kv: -kv[1])[: limit * 10]:
            rec = self._orders[cid]
            if open_only and rec.status == "closed":
                continue
            if district and rec.district != district:
                continue
            if street and rec.street != street:
                continue
            if rec.norm is None:  # idf as of its first use: close enough for ranking
                rec.set_norm(idf_of)
            sim = s / (qn * (rec.norm or 1.0))
            if sim < min_similarity:
                continue
            out.append(PastCase(id=rec.id, received_at=rec.received_at, text=rec.text,
                                department_id=rec.department_id, category=rec.category, status=rec.status,
                                returned=rec.returned, district=rec.district, street=rec.street,
                                similarity=round(sim, 4)))
        out.sort(key=lambda c: -c.similarity)
        return out[:limit]

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self._orders.values()]
