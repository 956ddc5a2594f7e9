"""Work-order history at call-center scale: a bounded, decayed summary plus a recent window.

Millions of work orders are never searched row by row: they are summarised as a term table (a
nearest-centroid model per category and department, time-decayed, bounded in terms and classes),
a window of the most recent orders for "similar past case" reasons, and a set of counted ids so that a
catch-up never counts an order twice. Queries cost O(query terms × classes per term), whatever the
history's length. It is saved as one ``.npz`` beside the index and caught up from the database on the
executor the engine passes in. The design and its known limits: docs/ARCHITECTURE.md ("Work-order
history").
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer import analysis
from kb.dto import WorkOrderView
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

__all__ = [
    "FILE_NAME",
    "ClassScore",
    "PastCase",
    "WorkOrderHistory",
    "case_terms",
]

FORMAT_VERSION = 2  # 2: the counted set
FILE_NAME = "history.npz"
#: Characters of a work order's text that are summarised (the opening says what the case is).
TEXT_CHARS = 300
FIRST_LINE_WEIGHT = 3.0
RECENT_TERMS = 40
QUERY_TERMS = 16  # strongest query terms looked up in the recent window
#: How far back the first catch-up after :meth:`WorkOrderHistory.follow` re-reads.
FIRST_CATCH_UP_OVERLAP = timedelta(days=3)
#: Seconds between background catch-ups started from the suggestion path. Each reads
#: ``iter_work_orders(since=)``, which today scans the work_order table by primary key
#: (about 5 s at 1M rows); keep this long until that query uses the received_at index.
CATCH_UP_INTERVAL = 300.0
#: How far back a periodic catch-up re-reads (orders saved late, status changes); the first one after load: 3 days.
CATCH_UP_OVERLAP = timedelta(hours=2)
#: How far before the high-water mark counted orders are remembered (by id hash), so that a
#: catch-up re-reading an overlap up to this long counts each order once. The longest overlap.
COUNTED_HORIZON = timedelta(days=7)
#: Single additions remembered in a dict before they are merged into the sorted hash array.
COUNTED_FRESH_MAX = 4096
RETURN_PENALTY = 1.0
CAT_BASE = 1 << 30  # class ids >= CAT_BASE are categories, below are department ids
_EPOCH = datetime(2020, 1, 1)
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]{2,}")
_Vec = dict[str, float]
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_U64 = npt.NDArray[np.uint64]
_I32 = npt.NDArray[np.int32]


def _id_hashes(ids: Iterable[str]) -> _U64:
    """Stable 64-bit hashes of work-order ids (BLAKE2b, not the per-process ``hash()``)."""
    blob = b"".join(hashlib.blake2b(i.encode("utf-8"), digest_size=8).digest() for i in ids)
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def _id_hash(order_id: str) -> int:
    return int(_id_hashes((order_id,))[0])


def _minutes(when: datetime) -> int:
    """Minutes since 2020-01-01 (the counted set's timestamps; int32 lasts past the year 6000)."""
    return int((when - _EPOCH).total_seconds() // 60)


def case_terms(text: str, limit: int = TEXT_CHARS) -> _Vec:
    """The L2-normalised term vector of a call text: bigrams and alphanumeric tokens, first line ×3."""
    text = analysis.fold_aligned(text[:limit])
    first, sep, rest = text.partition("\n")
    weights: dict[str, float] = {}
    parts = ((first, FIRST_LINE_WEIGHT), (rest, 1.0)) if sep and rest.strip() else ((text, 1.0),)
    for part, w in parts:
        for run in _TOKEN_RE.findall(part):
            if run[0].isascii():
                grams: Iterable[str] = (run,)
            elif len(run) == 1:
                continue
            else:
                grams = (run[i : i + 2] for i in range(len(run) - 1))
            for g in grams:
                if weights.get(g, 0.0) < w:
                    weights[g] = w
    norm = math.sqrt(sum(v * v for v in weights.values()))
    return {t: v / norm for t, v in weights.items()} if norm else {}


@dataclass(frozen=True)
class ClassScore:
    """How well a class (department or category) matches a text in the history."""

    key: int  # department id, or CAT_BASE + category index
    score: float  # categories: cosine to the centroid; departments: summed similarity of decayed past cases
    # (returned cases count negative, so a department that returns such cases can go below 0)
    support: float  # decayed number of past cases of the class (today's weight = 1)
    terms: tuple[str, ...]  # the query terms that contributed most


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
class _Recent:
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

    def same_classes(self, wo: WorkOrderView) -> bool:
        return (self.department_id, self.category, self.status, self.returned, self.handling) == (
            wo.department_id, wo.category, wo.status, wo.returned, wo.handling)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.received_at.isoformat(), "text": self.text, "d": self.department_id,
                "c": self.category, "s": self.status, "r": self.returned, "di": self.district, "st": self.street,
                "h": self.handling, "v": self.vec, "w": self.weight}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> _Recent:
        return cls(id=raw["id"], received_at=datetime.fromisoformat(raw["at"]), text=raw["text"],
                   department_id=raw["d"], category=raw["c"], status=raw["s"], returned=raw["r"],
                   district=raw["di"], street=raw["st"], handling=raw["h"], vec=dict(raw["v"]),
                   weight=float(raw["w"]))


class WorkOrderHistory:
    """The bounded, decayed summary of past work orders. Thread-safe.

    ``clock`` (seconds, monotonic) paces the background catch-ups and saves; tests pass their own.
    """

    def __init__(self, *, half_life_days: float = 180.0, category_half_life_days: float = 1095.0,
                 max_terms: int = 200_000,
                 max_classes_per_term: int = 24, recent_size: int = 10_000,
                 compact_every: int = 500_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.half_life_days = half_life_days
        self.max_terms = max_terms
        self.max_classes_per_term = max_classes_per_term
        self.recent_size = recent_size
        self.compact_every = compact_every
        self.category_half_life_days = category_half_life_days
        self._lam = math.log(2.0) / half_life_days
        self._lam_c = math.log(2.0) / category_half_life_days
        self._lock = threading.RLock()
        # vocabulary and frozen CSR rows
        self._terms: dict[str, int] = {}
        self._term_list: list[str] = []
        self._indptr: _I64 = np.zeros(1, dtype=np.int64)
        self._cls: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._val: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._df: _F64 = np.zeros(1024, dtype=np.float64)
        self._delta: dict[int, dict[int, float]] = {}
        self._delta_size = 0
        self._norm2: dict[int, float] = {}
        self._mass: dict[int, float] = {}
        self._stale = 0
        self.n_docs = 0.0
        self.orders = 0  # work orders summarised (not decayed)
        self.categories: list[str] = []
        self._cat_index: dict[str, int] = {}
        self.high_water: datetime | None = None
        self._recent: dict[str, _Recent] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._postings: dict[str, set[str]] = {}
        # orders counted within COUNTED_HORIZON of high_water: sorted id hashes + minutes received
        self._counted_h: _U64 = np.zeros(0, dtype=np.uint64)
        self._counted_t: _I32 = np.zeros(0, dtype=np.int32)
        self._counted_new: dict[int, int] = {}  # single additions since the last merge
        # persistence / background catch-up (see follow)
        self.path: Path | None = None
        self._clock = clock
        self._following: tuple[KnowledgeBase, Executor] | None = None
        self._stopped = threading.Event()
        self._dirty = 0
        self._last_save = clock()
        self._next_catch_up = 0.0
        self._catching_up = threading.Lock()
        self.ready = threading.Event()

    # ------------------------------------------------------------------ helpers
    def _factor(self, when: datetime, category: bool = False) -> float:
        lam = self._lam_c if category else self._lam
        return math.exp(lam * (when - _EPOCH).total_seconds() / 86400.0)

    def _row(self, term: str) -> int:
        row = self._terms.get(term)
        if row is None:
            row = len(self._term_list)
            self._terms[term] = row
            self._term_list.append(term)
            if row >= len(self._df):
                self._df = np.concatenate([self._df, np.zeros(len(self._df), dtype=np.float64)])
        return row

    def _idf(self, df: float) -> float:
        return math.log(1.0 + self.n_docs / df) if df > 0 else 0.0

    def category_key(self, path: str) -> int:
        with self._lock:
            idx = self._cat_index.get(path)
            if idx is None:
                idx = len(self.categories)
                self.categories.append(path)
                self._cat_index[path] = idx
            return CAT_BASE + idx

    def category_name(self, key: int) -> str:
        return self.categories[key - CAT_BASE]

    def __len__(self) -> int:
        return self.orders

    @property
    def vocabulary(self) -> int:
        return len(self._term_list)

    # ------------------------------------------------------------------ learning
    def add(self, wo: WorkOrderView) -> bool:
        """Summarise one work order, once: returns whether the summary changed.

        A changed order in the recent window replaces its old self; an order counted
        before (remembered in the counted set) is skipped, even if it changed.
        """
        with self._lock:
            old = self._recent.get(wo.id)
            h: int | None = None
            if old is not None:
                if old.same_classes(wo):
                    return False
                self._apply(old, -1.0)
                self._unindex(old)
                del self._recent[wo.id]
                self.orders -= 1
            else:
                h = _id_hash(wo.id)
                if self._is_counted(h):
                    return False
            vec = case_terms(wo.text)
            if not vec:
                return False
            if h is not None:
                self._counted_new[h] = _minutes(wo.received_at)
            rec = _Recent(id=wo.id, received_at=wo.received_at, text=wo.text[:160], department_id=wo.department_id,
                          category=wo.category, status=wo.status, returned=wo.returned, district=wo.district,
                          street=wo.street, handling=wo.handling, vec=vec, weight=self._factor(wo.received_at))
            self._apply(rec, 1.0)
            self.orders += 1
            self._remember(rec)
            if rec.id in self._recent:
                self._set_norm(rec)
            if self.high_water is None or wo.received_at > self.high_water:
                self.high_water = wo.received_at
            self._dirty += 1
            if self._delta_size > self.compact_every:
                self._compact()
            elif len(self._counted_new) > COUNTED_FRESH_MAX:
                self._merge_counted()
            return True

    def add_many(self, orders: Iterable[WorkOrderView], *, batch: int = 20_000) -> int:
        """Summarise many work orders: one by one when few, else in vectorised batches."""
        n = 0
        pending: list[WorkOrderView] = []
        for wo in orders:
            pending.append(wo)
            if len(pending) >= batch:
                n += self._bulk(pending)
                pending = []
        if len(pending) >= 500:
            n += self._bulk(pending)
        else:
            for wo in pending:
                n += self.add(wo)
        return n

    def _bulk(self, orders: list[WorkOrderView]) -> int:
        """Add a batch as COO cells merged by one compaction (the bulk path of a first build and catch-ups)."""
        with self._lock:
            rows_l: list[int] = []
            keys_l: list[int] = []
            vals_l: list[float] = []
            df_rows: list[int] = []
            df_vals: list[float] = []
            n = 0
            if self._counted_new:  # one sorted array to look the batch up in
                self._merge_counted()
            hashes = _id_hashes(wo.id for wo in orders)
            known = self._known(hashes).tolist()
            new_h: list[int] = []
            new_t: list[int] = []
            seen: set[int] = set()  # counted earlier in this batch
            for wo, h, was_counted in zip(orders, hashes.tolist(), known, strict=True):
                if wo.id in self._recent:
                    n += self.add(wo)
                    continue
                if was_counted or h in self._counted_new or h in seen:
                    continue  # counted before and no longer in the window: its changes cannot be applied
                vec = case_terms(wo.text)
                if not vec:
                    continue
                seen.add(h)
                new_h.append(h)
                new_t.append(_minutes(wo.received_at))
                rec = _Recent(id=wo.id, received_at=wo.received_at, text=wo.text[:160],
                              department_id=wo.department_id, category=wo.category, status=wo.status,
                              returned=wo.returned, district=wo.district, street=wo.street, handling=wo.handling,
                              vec=vec, weight=self._factor(wo.received_at))
                g_cat = self._factor(wo.received_at, category=True)
                self.n_docs += g_cat
                rows = [self._row(t) for t in vec]
                xs = list(vec.values())
                df_rows.extend(rows)
                df_vals.extend([g_cat] * len(rows))
                for key, w in self._classes(rec):
                    g = g_cat if key >= CAT_BASE else rec.weight
                    self._mass[key] = self._mass.get(key, 0.0) + g
                    gw = g * w
                    rows_l.extend(rows)
                    keys_l.extend([key] * len(rows))
                    vals_l.extend(gw * x for x in xs)
                self.orders += 1
                n += 1
                self._remember(rec)
                if self.high_water is None or wo.received_at > self.high_water:
                    self.high_water = wo.received_at
            if len(self._df) < len(self._term_list):
                grown = np.zeros(2 * len(self._term_list), dtype=np.float64)
                grown[: len(self._df)] = self._df
                self._df = grown
            np.add.at(self._df, np.asarray(df_rows, dtype=np.int64), np.asarray(df_vals, dtype=np.float64))
            self._dirty += n
            for rec in self._recent.values():
                if rec.norm is None:
                    self._set_norm(rec)
            self._merge_counted(np.asarray(new_h, dtype=np.uint64), np.asarray(new_t, dtype=np.int32))
            self._compact(extra=(np.asarray(rows_l, dtype=np.int64), np.asarray(keys_l, dtype=np.int64),
                                 np.asarray(vals_l, dtype=np.float64)))
            return n

    def _classes(self, rec: _Recent) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        if rec.category:
            out.append((self.category_key(rec.category), 1.0))
        if rec.department_id is not None and rec.handling == "dispatched":
            out.append((rec.department_id, -RETURN_PENALTY if rec.returned else 1.0))
        return out

    def _apply(self, rec: _Recent, sign: float) -> None:
        g_dept = rec.weight * sign
        g_cat = self._factor(rec.received_at, category=True) * sign
        self.n_docs += g_cat
        classes = self._classes(rec)
        idfs: list[tuple[int, float, float]] = []
        for term, x in rec.vec.items():
            row = self._row(term)
            self._df[row] += g_cat
            idfs.append((row, x, self._idf(float(self._df[row]))))
        for key, w in classes:
            g = g_cat if key >= CAT_BASE else g_dept
            gw = g * w
            self._mass[key] = self._mass.get(key, 0.0) + g
            dot = 0.0
            add2 = 0.0
            for row, x, idf in idfs:
                cell = self._delta.setdefault(row, {})
                before = cell.get(key)
                if before is None:
                    self._delta_size += 1
                    before = 0.0
                # incremental squared norm: |C + v|² = |C|² + 2 C·v + |v|² (idf as of now)
                dot += before * x * idf * idf  # fresh part only: exact again at the next compaction
                add2 += (x * idf) ** 2
                cell[key] = before + gw * x
            self._norm2[key] = max(0.0, self._norm2.get(key, 0.0) + 2 * gw * dot + gw * gw * add2)
        self._stale += 1

    def _norms_stale(self) -> bool:
        """Norms drift as idf changes: exact again after a compaction."""
        return self._stale > max(50, 0.02 * self.orders)

    def refresh(self, *, max_cells: int | None = None) -> bool:
        """Compact when the norms are stale (and, with ``max_cells``, only when that is cheap)."""
        with self._lock:
            if not self._norms_stale():
                return False
            if max_cells is not None and len(self._val) + self._delta_size > max_cells:
                return False
            self._compact()
            return True

    def _remember(self, rec: _Recent) -> None:
        """Keep ``rec`` in the window of the ``recent_size`` newest orders (by date received)."""
        if len(self._recent) >= self.recent_size and self._heap and rec.received_at < self._heap[0][0]:
            return
        if len(rec.vec) > RECENT_TERMS:  # the window keeps the strongest terms only (memory)
            rec.vec = dict(sorted(rec.vec.items(), key=lambda kv: -kv[1])[:RECENT_TERMS])
        self._recent[rec.id] = rec
        heapq.heappush(self._heap, (rec.received_at, rec.id))
        for term in rec.vec:
            self._postings.setdefault(term, set()).add(rec.id)
        while len(self._recent) > self.recent_size and self._heap:
            at, cid = heapq.heappop(self._heap)
            oldest = self._recent.get(cid)
            if oldest is not None and oldest.received_at == at:
                del self._recent[cid]
                self._unindex(oldest)

    def _unindex(self, rec: _Recent) -> None:
        for term in rec.vec:
            ids = self._postings.get(term)
            if ids is not None:
                ids.discard(rec.id)
                if not ids:
                    del self._postings[term]

    # ------------------------------------------------------------------ counted set
    def _is_counted(self, h: int) -> bool:
        """Whether an order (by id hash) not in the window was counted before."""
        if h in self._counted_new:
            return True
        a = self._counted_h
        i = int(np.searchsorted(a, np.uint64(h)))
        return i < len(a) and int(a[i]) == h

    def _known(self, hashes: _U64) -> npt.NDArray[np.bool_]:
        """Vectorised membership of ``hashes`` in the sorted counted array (not the fresh dict)."""
        a = self._counted_h
        if not len(a) or not len(hashes):
            return np.zeros(len(hashes), dtype=bool)
        idx = np.minimum(np.searchsorted(a, hashes), len(a) - 1)
        return np.asarray(a[idx] == hashes, dtype=bool)

    def _merge_counted(self, extra_h: _U64 | None = None, extra_t: _I32 | None = None, *,
                       resort: bool = False) -> None:
        """Merge fresh hashes into the sorted array and drop those older than the horizon."""
        parts_h = [self._counted_h]
        parts_t = [self._counted_t]
        if self._counted_new:
            parts_h.append(np.fromiter(self._counted_new.keys(), dtype=np.uint64, count=len(self._counted_new)))
            parts_t.append(np.fromiter(self._counted_new.values(), dtype=np.int32, count=len(self._counted_new)))
            self._counted_new = {}
        if extra_h is not None and extra_t is not None and len(extra_h):
            parts_h.append(extra_h.astype(np.uint64))
            parts_t.append(extra_t.astype(np.int32))
        h = np.concatenate(parts_h) if len(parts_h) > 1 else parts_h[0]
        t = np.concatenate(parts_t) if len(parts_t) > 1 else parts_t[0]
        if self.high_water is not None:
            horizon = self.high_water - COUNTED_HORIZON
            keep = t >= _minutes(horizon)
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
        self._counted_h = np.ascontiguousarray(h, dtype=np.uint64)
        self._counted_t = np.ascontiguousarray(t, dtype=np.int32)

    def counted_bytes(self) -> int:
        """Size of the counted set's arrays: 12 bytes per remembered order (fresh dict not included)."""
        return int(self._counted_h.nbytes + self._counted_t.nbytes)

    # ------------------------------------------------------------------ compaction
    def compact(self) -> None:
        with self._lock:
            self._compact()

    def _compact(self, extra: tuple[_I64, _I64, _F64] | None = None) -> None:
        """Merge fresh additions into the CSR arrays, cap the vocabulary and classes, recompute norms."""
        if self._counted_new:
            self._merge_counted()
        n_rows = len(self._term_list)
        rows_f = np.repeat(np.arange(len(self._indptr) - 1, dtype=np.int64), np.diff(self._indptr))
        d_rows: list[int] = []
        d_cls: list[int] = []
        d_val: list[float] = []
        for row, cell in self._delta.items():
            for key, v in cell.items():
                d_rows.append(row)
                d_cls.append(key)
                d_val.append(v)
        e_rows, e_cls, e_val = extra if extra is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64),
                                                                 np.zeros(0, np.float64))
        rows = np.concatenate([rows_f, np.asarray(d_rows, dtype=np.int64), e_rows])
        cls = np.concatenate([self._cls.astype(np.int64), np.asarray(d_cls, dtype=np.int64), e_cls])
        val = np.concatenate([self._val.astype(np.float64), np.asarray(d_val, dtype=np.float64), e_val])
        self._delta, self._delta_size = {}, 0
        if len(rows):
            keys, inv = np.unique((rows << 32) | cls, return_inverse=True)
            val = np.bincount(inv, weights=val)
            rows, cls = keys >> 32, keys & 0xFFFFFFFF
        df = self._df[:n_rows]
        # vocabulary cap: keep the max_terms terms with the highest decayed document frequency
        keep_row = np.ones(n_rows, dtype=bool)
        if n_rows > self.max_terms:
            cut = np.argpartition(-df, self.max_terms - 1)[: self.max_terms]
            keep_row[:] = False
            keep_row[cut] = True
        # drop cells of dropped terms and negligible cells (relative to the current scale)
        when = self.high_water or _EPOCH
        scale = np.where(cls >= CAT_BASE, self._factor(when, category=True), self._factor(when))
        keep = keep_row[rows] & (np.abs(val) > 1e-6 * scale)
        rows, cls, val = rows[keep], cls[keep], val[keep]
        # per-term cap on classes, by absolute weight
        if len(rows):
            order = np.lexsort((-np.abs(val), rows))
            rows, cls, val = rows[order], cls[order], val[order]
            first = np.searchsorted(rows, rows, side="left")
            rank = np.arange(len(rows)) - first
            keep = rank < self.max_classes_per_term
            rows, cls, val = rows[keep], cls[keep], val[keep]
        # remap rows
        new_index = np.cumsum(keep_row) - 1
        if not keep_row.all():
            self._term_list = [t for t, k in zip(self._term_list, keep_row, strict=True) if k]
            self._terms = {t: i for i, t in enumerate(self._term_list)}
            df = df[keep_row]
            rows = new_index[rows]
            kept = set(self._term_list)
            for term in [t for t in self._postings if t not in kept]:
                del self._postings[term]
        n_new = len(self._term_list)
        self._df = np.zeros(max(1024, n_new * 2), dtype=np.float64)
        self._df[:n_new] = df
        counts = np.bincount(rows, minlength=n_new) if len(rows) else np.zeros(n_new, dtype=np.int64)
        self._indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._cls = cls.astype(np.int32)
        self._val = val.astype(np.float32)
        self._recompute_norms()

    def _recompute_norms(self) -> None:
        n = len(self._term_list)
        if not len(self._cls):
            self._norm2 = {}
            self._stale = 0
            return
        df = self._df[:n]
        with np.errstate(divide="ignore"):
            idf = np.where(df > 0, np.log1p(self.n_docs / np.maximum(df, 1e-300)), 0.0)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self._indptr))
        contrib = (self._val.astype(np.float64) * idf[rows]) ** 2
        keys, inv = np.unique(self._cls, return_inverse=True)
        sums = np.bincount(inv, weights=contrib)
        self._norm2 = {int(k): float(s) for k, s in zip(keys, sums, strict=True)}
        self._stale = 0

    # ------------------------------------------------------------------ queries
    def _cells(self, row: int) -> Iterable[tuple[int, float]]:
        if row < len(self._indptr) - 1:
            lo, hi = int(self._indptr[row]), int(self._indptr[row + 1])
            if hi > lo:
                yield from zip(self._cls[lo:hi].tolist(), self._val[lo:hi].tolist(), strict=True)
        cell = self._delta.get(row)
        if cell:
            yield from cell.items()

    def _query(self, vec: _Vec, *, categories: bool, now: datetime | None, limit: int) -> list[ClassScore]:
        self.refresh(max_cells=150_000)
        with self._lock:
            if not vec or self.n_docs <= 0:
                return []
            sums: dict[int, float] = {}
            parts: dict[int, list[tuple[float, str]]] = {}
            qnorm2 = 0.0
            for term, x in vec.items():
                row = self._terms.get(term)
                if row is None:
                    continue
                idf = self._idf(float(self._df[row]))
                qnorm2 += (x * idf) ** 2
                w = x * idf * idf
                for key, v in self._cells(row):
                    if (key >= CAT_BASE) != categories:
                        continue
                    c = w * v
                    sums[key] = sums.get(key, 0.0) + c
                    parts.setdefault(key, []).append((c, term))
            if not sums:
                return []
            qn = math.sqrt(qnorm2) or 1.0
            scale = self._factor(now or self.high_water or _EPOCH, category=categories)
            out = []
            for key, s in sums.items():
                if categories:  # cosine to the centroid: the share of the class does not matter
                    norm = math.sqrt(self._norm2.get(key, 0.0))
                    if norm <= 0:
                        continue
                    score = s / (norm * qn)
                else:  # summed similarity of the decayed past cases: volume and recency matter
                    score = s / (scale * qn)
                top = sorted(parts[key], reverse=True)[:3]
                out.append(ClassScore(key=key, score=score, support=self._mass.get(key, 0.0) / scale,
                                      terms=tuple(t for c, t in top if c > 0)))
            out.sort(key=lambda c: -c.score)
            return out[:limit]

    def departments(self, text: str | _Vec, *, now: datetime | None = None, limit: int = 10) -> list[ClassScore]:
        """Departments whose past (dispatched, not returned) cases look like ``text``, best first."""
        vec = case_terms(text) if isinstance(text, str) else text
        return self._query(vec, categories=False, now=now, limit=limit)

    def categories_for(self, text: str | _Vec, *, now: datetime | None = None, limit: int = 5) -> list[ClassScore]:
        vec = case_terms(text) if isinstance(text, str) else text
        return self._query(vec, categories=True, now=now, limit=limit)

    def similar(self, text: str | _Vec, *, limit: int = 3, min_similarity: float = 0.25,
                district: str | None = None, street: str | None = None, open_only: bool = False,
                max_postings: int = 400) -> list[PastCase]:
        """Recent cases most similar to ``text`` (cosine of idf-weighted term vectors)."""
        vec = case_terms(text) if isinstance(text, str) else text
        with self._lock:
            if not vec:
                return []
            idf: dict[str, float] = {}
            for term in vec:
                row = self._terms.get(term)
                idf[term] = self._idf(float(self._df[row])) if row is not None else 0.0
            q = {t: x * idf[t] for t, x in vec.items() if idf[t] > 0}
            qn = math.sqrt(sum(v * v for v in q.values())) or 1.0
            scores: dict[str, float] = {}
            for term, qx in sorted(q.items(), key=lambda kv: -kv[1])[:QUERY_TERMS]:
                ids = self._postings.get(term)
                if not ids or len(ids) > max_postings:
                    continue
                w = qx * idf[term]
                for cid in ids:
                    scores[cid] = scores.get(cid, 0.0) + w * self._recent[cid].vec[term]
            out: list[PastCase] = []
            for cid, s in sorted(scores.items(), key=lambda kv: -kv[1])[: limit * 10]:
                rec = self._recent[cid]
                if open_only and rec.status == "closed":
                    continue
                if district and rec.district != district:
                    continue
                if street and rec.street != street:
                    continue
                if rec.norm is None:  # idf as of its first use: close enough for ranking
                    rec.norm = math.sqrt(sum((x * self._idf_of(t)) ** 2 for t, x in rec.vec.items())) or 1.0
                sim = s / (qn * rec.norm)
                if sim < min_similarity:
                    continue
                out.append(PastCase(id=rec.id, received_at=rec.received_at, text=rec.text,
                                    department_id=rec.department_id, category=rec.category, status=rec.status,
                                    returned=rec.returned, district=rec.district, street=rec.street,
                                    similarity=round(sim, 4)))
            out.sort(key=lambda c: -c.similarity)
            return out[:limit]

    def _set_norm(self, rec: _Recent) -> None:
        rec.norm = math.sqrt(sum((x * self._idf_of(t)) ** 2 for t, x in rec.vec.items())) or 1.0

    def _idf_of(self, term: str) -> float:
        row = self._terms.get(term)
        return self._idf(float(self._df[row])) if row is not None else 0.0

    def memory_bytes(self) -> int:
        """Approximate size of the numeric arrays, counted set included (the vocabulary and the window come on top)."""
        return int(self._indptr.nbytes + self._cls.nbytes + self._val.nbytes + self._df.nbytes
                   + self.counted_bytes())

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path | None = None) -> Path:
        """Write the summary atomically (compacting first)."""
        path = Path(path or self.path or FILE_NAME)
        with self._lock:
            self._compact()
            self._merge_counted()  # prunes hashes older than the horizon
            n = len(self._term_list)
            meta = {
                "version": FORMAT_VERSION, "half_life_days": self.half_life_days,
                "category_half_life_days": self.category_half_life_days, "n_docs": self.n_docs,
                "orders": self.orders, "categories": self.categories,
                "mass": {str(k): v for k, v in self._mass.items()},
                "high_water": self.high_water.isoformat() if self.high_water else None,
            }
            arrays: dict[str, Any] = {
                "indptr": self._indptr, "cls": self._cls, "val": self._val, "df": self._df[:n].copy(),
                "terms": np.frombuffer("\n".join(self._term_list).encode("utf-8"), dtype=np.uint8),
                "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                "recent": np.frombuffer(json.dumps([r.to_json() for r in self._recent.values()],
                                                   ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                "counted_hash": self._counted_h, "counted_at": self._counted_t,
            }
            self._dirty = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self._last_save = self._clock()
        return path

    @classmethod
    def load(cls, path: Path, **kwargs: Any) -> WorkOrderHistory:
        """Read a saved summary; raises ValueError (or OSError) for an unreadable or foreign file."""
        h = cls(**kwargs)
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("version") != FORMAT_VERSION:
                raise ValueError(f"history summary version {meta.get('version')}, expected {FORMAT_VERSION}")
            if (float(meta["half_life_days"]), float(meta["category_half_life_days"])) != (
                    h.half_life_days, h.category_half_life_days):
                raise ValueError("history summary written with another half-life")
            terms = bytes(z["terms"]).decode("utf-8")
            h._term_list = terms.split("\n") if terms else []
            h._terms = {t: i for i, t in enumerate(h._term_list)}
            h._indptr = z["indptr"].astype(np.int64)
            h._cls = z["cls"].astype(np.int32)
            h._val = z["val"].astype(np.float32)
            df = z["df"].astype(np.float64)
            recent = json.loads(bytes(z["recent"]).decode("utf-8"))
            h._counted_h = z["counted_hash"].astype(np.uint64)
            h._counted_t = z["counted_at"].astype(np.int32)
        if len(h._counted_h) != len(h._counted_t):
            raise ValueError("history summary counted set does not match")
        if len(h._indptr) != len(h._term_list) + 1 or len(df) != len(h._term_list):
            raise ValueError("history summary arrays do not match")
        h._df = np.zeros(max(1024, 2 * len(df)), dtype=np.float64)
        h._df[: len(df)] = df
        h.n_docs = float(meta["n_docs"])
        h.orders = int(meta["orders"])
        h.categories = list(meta["categories"])
        h._cat_index = {c: i for i, c in enumerate(h.categories)}
        h._mass = {int(k): float(v) for k, v in meta["mass"].items()}
        h.high_water = datetime.fromisoformat(meta["high_water"]) if meta["high_water"] else None
        h._merge_counted(resort=True)  # prune; sorting an already sorted array is a linear pass
        for raw in recent:
            h._remember(_Recent.from_json(raw))
        for rec in h._recent.values():
            h._set_norm(rec)
        h._recompute_norms()
        h.path = Path(path)
        return h

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> WorkOrderHistory:
        """Load ``path`` if it is readable, else start empty (a later :meth:`catch_up` fills it)."""
        if Path(path).is_file():
            try:
                return cls.load(path, **kwargs)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("work-order history summary unreadable (%s); rebuilding from the database", exc)
        h = cls(**kwargs)
        h.path = Path(path)
        return h

    # ------------------------------------------------------------------ keeping up with the database
    def catch_up(self, kb: KnowledgeBase, *, overlap: timedelta = FIRST_CATCH_UP_OVERLAP,
                 save_after: int = 1000) -> int:
        """Summarise work orders received since the newest one seen, re-reading ``overlap`` before it.

        The overlap picks up orders saved late and status changes of orders still in the
        recent window. Each re-read order counts once: one in the window replaces its old
        contribution; one remembered in the counted set (counted before, out of the window)
        is skipped, so its later changes are not applied; any other is new and counted. The
        overlap is capped at :data:`COUNTED_HORIZON`, as far back as the counted set reaches.

        Saves the file when at least ``save_after`` orders changed (or 10 minutes passed with changes).
        After :meth:`stop` it ends at the next order and saves nothing.
        """
        if not self._catching_up.acquire(blocking=False):
            return 0
        try:
            since = self.high_water - min(overlap, COUNTED_HORIZON) if self.high_water else None
            orders = itertools.takewhile(lambda _wo: not self._stopped.is_set(), kb.work_orders.iter_all(since=since))
            n = self.add_many(orders)
            if self._stopped.is_set():
                return n
            self.refresh()
            if self.path is not None and (self._dirty >= save_after or
                                          (self._dirty and self._clock() - self._last_save > 600)):
                self.save()
            return n
        finally:
            self._catching_up.release()
            self.ready.set()

    def follow(self, kb: KnowledgeBase, executor: Executor, *, catch_up_now: bool = True) -> Future[None] | None:
        """Keep up with ``kb``, catching up on ``executor`` (the program's background pool).

        With ``catch_up_now`` a first catch-up (re-reading :data:`FIRST_CATCH_UP_OVERLAP`) is
        submitted at once: after an upgrade it may read every stored work order, and suggestions
        use what is there meanwhile. Later ones start from :meth:`maybe_catch_up`, the first
        :data:`CATCH_UP_INTERVAL` seconds from now. Returns the submitted job, if any.
        """
        self._stopped.clear()
        self._following = (kb, executor)
        self._next_catch_up = self._clock() + CATCH_UP_INTERVAL
        return self._submit(kb, executor, FIRST_CATCH_UP_OVERLAP) if catch_up_now else None

    def stop(self) -> None:
        """Stop following: no catch-up starts any more, a running one ends at its next order, unsaved."""
        self._stopped.set()
        self._following = None

    def maybe_catch_up(self, interval: float = CATCH_UP_INTERVAL) -> Future[None] | None:
        """From the suggestion path: start a background catch-up at most every ``interval`` seconds.

        Work orders saved on this seat should be passed to :meth:`add` right away; the periodic
        catch-up picks up the other seats' (and late status changes within ``CATCH_UP_OVERLAP``).
        Does nothing unless the history follows a base (:meth:`follow`). Returns the submitted job, if any.
        """
        following = self._following
        now = self._clock()
        if following is None or now < self._next_catch_up or self._catching_up.locked():
            return None
        self._next_catch_up = now + interval
        return self._submit(*following, CATCH_UP_OVERLAP)

    def _submit(self, kb: KnowledgeBase, executor: Executor, overlap: timedelta) -> Future[None] | None:
        try:
            return executor.submit(self._catch_up_quietly, kb, overlap)
        except RuntimeError:  # the executor was shut down: the program is exiting
            log.debug("work-order history catch-up not started: executor shut down")
            return None

    def _catch_up_quietly(self, kb: KnowledgeBase, overlap: timedelta) -> None:
        try:
            self.catch_up(kb, overlap=overlap)
        except Exception:  # the database may be busy or gone: the next call retries
            log.exception("work-order history catch-up failed")
