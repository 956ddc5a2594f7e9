"""Work-order history at call-center scale: a bounded, decayed summary plus a recent window.

Millions of work orders are never searched row by row: they are summarised as a term table (a
nearest-centroid model per category and department, time-decayed, bounded in terms and classes:
:mod:`indexer.term_table`), a window of the most recent orders for "similar past case" reasons
(:mod:`indexer.recent`), and a set of counted ids so that a catch-up never counts an order twice
(:mod:`indexer.counted`). Queries cost O(query terms × classes per term), whatever the history's
length. :class:`WorkOrderHistory` coordinates them: it is saved as one ``.npz`` beside the index and
caught up from the database on the executor the engine passes in. The design and its known limits:
docs/ARCHITECTURE.md ("Work-order history").
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from indexer.counted import COUNTED_HORIZON, CountedSet, id_hash, id_hashes, minutes
from indexer.recent import PastCase, RecentOrder, RecentWindow
from indexer.term_table import CAT_BASE, ClassScore, TermTable, case_terms
from kb.dto import WorkOrderView
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

__all__ = [
    "CATCH_UP_INTERVAL",
    "CAT_BASE",
    "COUNTED_HORIZON",
    "FILE_NAME",
    "ClassScore",
    "PastCase",
    "WorkOrderHistory",
    "case_terms",
]

FORMAT_VERSION = 2  # 2: the counted set
FILE_NAME = "history.npz"
#: How far back the first catch-up after :meth:`WorkOrderHistory.follow` re-reads.
FIRST_CATCH_UP_OVERLAP = timedelta(days=3)
#: Seconds between background catch-ups started from the suggestion path. Each reads
#: ``iter_work_orders(since=)``, which today scans the work_order table by primary key
#: (about 5 s at 1M rows); keep this long until that query uses the received_at index.
CATCH_UP_INTERVAL = 300.0
#: How far back a periodic catch-up re-reads (orders saved late, status changes); the first one after load: 3 days.
CATCH_UP_OVERLAP = timedelta(hours=2)
RETURN_PENALTY = 1.0


class WorkOrderHistory:
    """The bounded, decayed summary of past work orders. Thread-safe.

    ``clock`` (seconds, monotonic) paces the background catch-ups and saves; tests pass their own.
    """

    def __init__(self, *, half_life_days: float = 180.0, category_half_life_days: float = 1095.0,
                 max_terms: int = 200_000,
                 max_classes_per_term: int = 24, recent_size: int = 10_000,
                 compact_every: int = 500_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.compact_every = compact_every
        self._lock = threading.RLock()
        self._table = TermTable(half_life_days=half_life_days, category_half_life_days=category_half_life_days,
                                max_terms=max_terms, max_classes_per_term=max_classes_per_term)
        self._recent = RecentWindow(recent_size)
        # orders counted within COUNTED_HORIZON of high_water
        self._counted = CountedSet()
        self.orders = 0  # work orders summarised (not decayed)
        self.high_water: datetime | None = None
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
    def category_key(self, path: str) -> int:
        with self._lock:
            return self._table.category_key(path)

    def category_name(self, key: int) -> str:
        return self._table.category_name(key)

    @property
    def categories(self) -> list[str]:
        return self._table.categories

    @property
    def n_docs(self) -> float:
        return self._table.n_docs

    def __len__(self) -> int:
        return self.orders

    @property
    def vocabulary(self) -> int:
        return len(self._table.term_list)

    def _classes(self, rec: RecentOrder) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        if rec.category:
            out.append((self._table.category_key(rec.category), 1.0))
        if rec.department_id is not None and rec.handling == "dispatched":
            out.append((rec.department_id, -RETURN_PENALTY if rec.returned else 1.0))
        return out

    def _apply(self, rec: RecentOrder, sign: float) -> None:
        self._table.apply(rec.vec, self._classes(rec), rec.weight, rec.received_at, sign)

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
                self._recent.forget(old)
                self.orders -= 1
            else:
                h = id_hash(wo.id)
                if h in self._counted:
                    return False
            vec = case_terms(wo.text)
            if not vec:
                return False
            if h is not None:
                self._counted.add(h, wo.received_at)
            rec = RecentOrder.of(wo, vec, self._table.factor(wo.received_at))
            self._apply(rec, 1.0)
            self.orders += 1
            self._recent.remember(rec)
            if rec.id in self._recent:
                rec.set_norm(self._table.idf_of)
            if self.high_water is None or wo.received_at > self.high_water:
                self.high_water = wo.received_at
            self._dirty += 1
            if self._table.delta_size > self.compact_every:
                self._compact()
            elif self._counted.crowded():
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
            cells = self._table.batch()
            n = 0
            if self._counted.fresh:  # one sorted array to look the batch up in
                self._merge_counted()
            hashes = id_hashes(wo.id for wo in orders)
            known = self._counted.known(hashes).tolist()
            new_h: list[int] = []
            new_t: list[int] = []
            seen: set[int] = set()  # counted earlier in this batch
            for wo, h, was_counted in zip(orders, hashes.tolist(), known, strict=True):
                if wo.id in self._recent:
                    n += self.add(wo)
                    continue
                if was_counted or h in self._counted.fresh or h in seen:
                    continue  # counted before and no longer in the window: its changes cannot be applied
                vec = case_terms(wo.text)
                if not vec:
                    continue
                seen.add(h)
                new_h.append(h)
                new_t.append(minutes(wo.received_at))
                rec = RecentOrder.of(wo, vec, self._table.factor(wo.received_at))
                cells.add(rec.vec, self._classes(rec), rec.weight, rec.received_at)
                self.orders += 1
                n += 1
                self._recent.remember(rec)
                if self.high_water is None or wo.received_at > self.high_water:
                    self.high_water = wo.received_at
            cells.add_df()
            self._dirty += n
            for rec in self._recent.orders():
                if rec.norm is None:
                    rec.set_norm(self._table.idf_of)
            self._counted.merge(self.high_water, np.asarray(new_h, dtype=np.uint64),
                                np.asarray(new_t, dtype=np.int32))
            if cells.commit(self.high_water):
                self._recent.keep_terms(self._table.terms)
            return n

    def refresh(self, *, max_cells: int | None = None) -> bool:
        """Compact when the norms are stale (and, with ``max_cells``, only when that is cheap).

        Norms drift as idf changes: exact again after a compaction.
        """
        with self._lock:
            if self._table.stale <= max(50, 0.02 * self.orders):
                return False
            if max_cells is not None and len(self._table.val) + self._table.delta_size > max_cells:
                return False
            self._compact()
            return True

    def _merge_counted(self, *, resort: bool = False) -> None:
        self._counted.merge(self.high_water, resort=resort)

    def counted_bytes(self) -> int:
        """Size of the counted set's arrays: 12 bytes per remembered order (fresh dict not included)."""
        return self._counted.nbytes()

    def compact(self) -> None:
        with self._lock:
            self._compact()

    def _compact(self) -> None:
        """Merge fresh additions into the CSR arrays, cap the vocabulary and classes, recompute norms."""
        if self._counted.fresh:
            self._merge_counted()
        if self._table.compact(self.high_water):
            self._recent.keep_terms(self._table.terms)

    # ------------------------------------------------------------------ queries
    def _query(self, vec: dict[str, float], *, categories: bool, now: datetime | None,
               limit: int) -> list[ClassScore]:
        self.refresh(max_cells=150_000)
        with self._lock:
            return self._table.query(vec, categories=categories, when=now or self.high_water, limit=limit)

    def departments(self, text: str | dict[str, float], *, now: datetime | None = None,
                    limit: int = 10) -> list[ClassScore]:
        """Departments whose past (dispatched, not returned) cases look like ``text``, best first."""
        vec = case_terms(text) if isinstance(text, str) else text
        return self._query(vec, categories=False, now=now, limit=limit)

    def categories_for(self, text: str | dict[str, float], *, now: datetime | None = None,
                       limit: int = 5) -> list[ClassScore]:
        vec = case_terms(text) if isinstance(text, str) else text
        return self._query(vec, categories=True, now=now, limit=limit)

    def similar(self, text: str | dict[str, float], *, limit: int = 3, min_similarity: float = 0.25,
                district: str | None = None, street: str | None = None, open_only: bool = False,
                max_postings: int = 400) -> list[PastCase]:
        """Recent cases most similar to ``text`` (cosine of idf-weighted term vectors)."""
        vec = case_terms(text) if isinstance(text, str) else text
        with self._lock:
            return self._recent.similar(vec, self._table.idf_of, limit=limit, min_similarity=min_similarity,
                                        district=district, street=street, open_only=open_only,
                                        max_postings=max_postings)

    def memory_bytes(self) -> int:
        """Approximate size of the numeric arrays, counted set included (the vocabulary and the window come on top)."""
        return self._table.memory_bytes() + self.counted_bytes()

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path | None = None) -> Path:
        """Write the summary atomically (compacting first)."""
        path = Path(path or self.path or FILE_NAME)
        with self._lock:
            self._compact()
            self._merge_counted()  # prunes hashes older than the horizon
            meta = {"version": FORMAT_VERSION, **self._table.meta(), "orders": self.orders,
                    "high_water": self.high_water.isoformat() if self.high_water else None}
            arrays: dict[str, Any] = {
                **self._table.arrays(),
                "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                "recent": np.frombuffer(json.dumps(self._recent.to_json(), ensure_ascii=False).encode("utf-8"),
                                        dtype=np.uint8),
                "counted_hash": self._counted.hashes, "counted_at": self._counted.minutes,
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
            h._table.restore(meta, {k: z[k] for k in ("terms", "indptr", "cls", "val", "df")})
            recent = json.loads(bytes(z["recent"]).decode("utf-8"))
            h._counted = CountedSet(z["counted_hash"], z["counted_at"])
        h.orders = int(meta["orders"])
        h.high_water = datetime.fromisoformat(meta["high_water"]) if meta["high_water"] else None
        h._merge_counted(resort=True)  # prune; sorting an already sorted array is a linear pass
        for raw in recent:
            h._recent.remember(RecentOrder.from_json(raw))
        for rec in h._recent.orders():
            rec.set_norm(h._table.idf_of)
        h._table.recompute_norms()
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

    def maybe_catch_up(self, interval: float = CATCH_UP_INTERVAL, *, now_due: bool = False) -> Future[None] | None:
        """From the suggestion path: start a background catch-up at most every ``interval`` seconds.

        Work orders saved on this seat should be passed to :meth:`add` right away; the periodic
        catch-up picks up the other seats' (and late status changes within ``CATCH_UP_OVERLAP``).
        Does nothing unless the history follows a base (:meth:`follow`). With ``now_due`` (the change log
        says other seats saved work orders) the catch-up starts now whatever the schedule said.
        Returns the submitted job, if any.
        """
        following = self._following
        now = self._clock()
        if following is None or (now < self._next_catch_up and not now_due) or self._catching_up.locked():
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
