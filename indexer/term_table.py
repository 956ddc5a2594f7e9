"""The work-order history's term table: a decayed, bounded nearest-centroid model per class.

Per term, the decayed sum of each class's case vectors (categories and departments), the term's
decayed document frequency and the decayed number of documents; frozen numpy CSR rows plus a dict of
fresh additions merged by :meth:`TermTable.compact`, which also caps the vocabulary and the classes
per term. The design: docs/ARCHITECTURE.md ("Work-order history"). Not thread-safe: the owning
:class:`~indexer.history.WorkOrderHistory` holds its lock around every call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer import analysis

__all__ = ["CAT_BASE", "EPOCH", "ClassScore", "TermTable", "case_terms"]

#: Characters of a work order's text that are summarised (the opening says what the case is).
TEXT_CHARS = 300
FIRST_LINE_WEIGHT = 3.0
CAT_BASE = 1 << 30  # class ids >= CAT_BASE are categories, below are department ids
#: Reference time of the forward decay (and the default "now" of an empty table).
EPOCH = datetime(2020, 1, 1)
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]{2,}")
Vec = dict[str, float]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def case_terms(text: str, limit: int = TEXT_CHARS) -> Vec:
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


class TermTable:
    """Decayed class sums per term, document frequencies and class norms, bounded on compaction."""

    def __init__(self, *, half_life_days: float, category_half_life_days: float, max_terms: int,
                 max_classes_per_term: int) -> None:
        self.half_life_days = half_life_days
        self.category_half_life_days = category_half_life_days
        self.max_terms = max_terms
        self.max_classes_per_term = max_classes_per_term
        self._lam = math.log(2.0) / half_life_days
        self._lam_c = math.log(2.0) / category_half_life_days
        # vocabulary and frozen CSR rows
        self.terms: dict[str, int] = {}
        self.term_list: list[str] = []
        self.indptr: I64 = np.zeros(1, dtype=np.int64)
        self.cls: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.val: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self.df: F64 = np.zeros(1024, dtype=np.float64)
        self.delta: dict[int, dict[int, float]] = {}  # fresh additions: row -> class -> value
        self.delta_size = 0
        self.norm2: dict[int, float] = {}
        self.mass: dict[int, float] = {}
        self.stale = 0  # additions since the norms were last exact
        self.n_docs = 0.0
        self.categories: list[str] = []
        self._cat_index: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers
    def factor(self, when: datetime, category: bool = False) -> float:
        """The forward-decay weight of an addition at ``when`` (departments' or categories' half-life)."""
        lam = self._lam_c if category else self._lam
        return math.exp(lam * (when - EPOCH).total_seconds() / 86400.0)

    def row(self, term: str) -> int:
        """The row of ``term``, added to the vocabulary if new."""
        row = self.terms.get(term)
        if row is None:
            row = len(self.term_list)
            self.terms[term] = row
            self.term_list.append(term)
            if row >= len(self.df):
                self.df = np.concatenate([self.df, np.zeros(len(self.df), dtype=np.float64)])
        return row

    def idf(self, df: float) -> float:
        return math.log(1.0 + self.n_docs / df) if df > 0 else 0.0

    def idf_of(self, term: str) -> float:
        row = self.terms.get(term)
        return self.idf(float(self.df[row])) if row is not None else 0.0

    def category_key(self, path: str) -> int:
        idx = self._cat_index.get(path)
        if idx is None:
            idx = len(self.categories)
            self.categories.append(path)
            self._cat_index[path] = idx
        return CAT_BASE + idx

    def category_name(self, key: int) -> str:
        return self.categories[key - CAT_BASE]

    def memory_bytes(self) -> int:
        return int(self.indptr.nbytes + self.cls.nbytes + self.val.nbytes + self.df.nbytes)

    # ------------------------------------------------------------------ additions
    def apply(self, vec: Mapping[str, float], classes: Iterable[tuple[int, float]], dept_weight: float,
              when: datetime, sign: float) -> None:
        """Add (``sign`` 1) or take back (-1) one case vector received ``when`` to its classes."""
        g_dept = dept_weight * sign
        g_cat = self.factor(when, category=True) * sign
        self.n_docs += g_cat
        idfs: list[tuple[int, float, float]] = []
        for term, x in vec.items():
            row = self.row(term)
            self.df[row] += g_cat
            idfs.append((row, x, self.idf(float(self.df[row]))))
        for key, w in classes:
            g = g_cat if key >= CAT_BASE else g_dept
            gw = g * w
            self.mass[key] = self.mass.get(key, 0.0) + g
            dot = 0.0
            add2 = 0.0
            for row, x, idf in idfs:
                cell = self.delta.setdefault(row, {})
                before = cell.get(key)
                if before is None:
                    self.delta_size += 1
                    before = 0.0
                # incremental squared norm: |C + v|² = |C|² + 2 C·v + |v|² (idf as of now)
                dot += before * x * idf * idf  # fresh part only: exact again at the next compaction
                add2 += (x * idf) ** 2
                cell[key] = before + gw * x
            self.norm2[key] = max(0.0, self.norm2.get(key, 0.0) + 2 * gw * dot + gw * gw * add2)
        self.stale += 1

    def batch(self) -> Batch:
        """A batch of additions as COO cells, merged by one compaction (:meth:`Batch.commit`)."""
        return Batch(self)

    # ------------------------------------------------------------------ compaction
    def compact(self, when: datetime | None, extra: tuple[I64, I64, F64] | None = None) -> bool:
        """Merge fresh additions into the CSR arrays, cap the vocabulary and classes, recompute norms.

        ``when`` (the newest addition) sets the scale below which cells are negligible. Returns
        whether terms were dropped from the vocabulary.
        """
        n_rows = len(self.term_list)
        rows_f = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), np.diff(self.indptr))
        d_rows: list[int] = []
        d_cls: list[int] = []
        d_val: list[float] = []
        for row, cell in self.delta.items():
            for key, v in cell.items():
                d_rows.append(row)
                d_cls.append(key)
                d_val.append(v)
        e_rows, e_cls, e_val = extra if extra is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64),
                                                                 np.zeros(0, np.float64))
        rows = np.concatenate([rows_f, np.asarray(d_rows, dtype=np.int64), e_rows])
        cls = np.concatenate([self.cls.astype(np.int64), np.asarray(d_cls, dtype=np.int64), e_cls])
        val = np.concatenate([self.val.astype(np.float64), np.asarray(d_val, dtype=np.float64), e_val])
        self.delta, self.delta_size = {}, 0
        if len(rows):
            keys, inv = np.unique((rows << 32) | cls, return_inverse=True)
            val = np.bincount(inv, weights=val)
            rows, cls = keys >> 32, keys & 0xFFFFFFFF
        df = self.df[:n_rows]
        # vocabulary cap: keep the max_terms terms with the highest decayed document frequency
        keep_row = np.ones(n_rows, dtype=bool)
        if n_rows > self.max_terms:
            cut = np.argpartition(-df, self.max_terms - 1)[: self.max_terms]
            keep_row[:] = False
            keep_row[cut] = True
        # drop cells of dropped terms and negligible cells (relative to the current scale)
        when = when or EPOCH
        scale = np.where(cls >= CAT_BASE, self.factor(when, category=True), self.factor(when))
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
        dropped = not keep_row.all()
        if dropped:
            self.term_list = [t for t, k in zip(self.term_list, keep_row, strict=True) if k]
            self.terms = {t: i for i, t in enumerate(self.term_list)}
            df = df[keep_row]
            rows = new_index[rows]
        n_new = len(self.term_list)
        self.df = np.zeros(max(1024, n_new * 2), dtype=np.float64)
        self.df[:n_new] = df
        counts = np.bincount(rows, minlength=n_new) if len(rows) else np.zeros(n_new, dtype=np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.cls = cls.astype(np.int32)
        self.val = val.astype(np.float32)
        self.recompute_norms()
        return dropped

    def recompute_norms(self) -> None:
        n = len(self.term_list)
        if not len(self.cls):
            self.norm2 = {}
            self.stale = 0
            return
        df = self.df[:n]
        with np.errstate(divide="ignore"):
            idf = np.where(df > 0, np.log1p(self.n_docs / np.maximum(df, 1e-300)), 0.0)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.indptr))
        contrib = (self.val.astype(np.float64) * idf[rows]) ** 2
        keys, inv = np.unique(self.cls, return_inverse=True)
        sums = np.bincount(inv, weights=contrib)
        self.norm2 = {int(k): float(s) for k, s in zip(keys, sums, strict=True)}
        self.stale = 0

    # ------------------------------------------------------------------ queries
    def _cells(self, row: int) -> Iterable[tuple[int, float]]:
        if row < len(self.indptr) - 1:
            lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
            if hi > lo:
                yield from zip(self.cls[lo:hi].tolist(), self.val[lo:hi].tolist(), strict=True)
        cell = self.delta.get(row)
        if cell:
            yield from cell.items()

    def query(self, vec: Mapping[str, float], *, categories: bool, when: datetime | None,
              limit: int) -> list[ClassScore]:
        """Categories (cosine to the centroid) or departments (summed decayed similarity) of ``vec``.

        ``when`` is "now" for the decay (None: the epoch).
        """
        if not vec or self.n_docs <= 0:
            return []
        sums: dict[int, float] = {}
        parts: dict[int, list[tuple[float, str]]] = {}
        qnorm2 = 0.0
        for term, x in vec.items():
            row = self.terms.get(term)
            if row is None:
                continue
            idf = self.idf(float(self.df[row]))
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
        scale = self.factor(when or EPOCH, category=categories)
        out = []
        for key, s in sums.items():
            if categories:  # cosine to the centroid: the share of the class does not matter
                norm = math.sqrt(self.norm2.get(key, 0.0))
                if norm <= 0:
                    continue
                score = s / (norm * qn)
            else:  # summed similarity of the decayed past cases: volume and recency matter
                score = s / (scale * qn)
            top = sorted(parts[key], reverse=True)[:3]
            out.append(ClassScore(key=key, score=score, support=self.mass.get(key, 0.0) / scale,
                                  terms=tuple(t for c, t in top if c > 0)))
        out.sort(key=lambda c: -c.score)
        return out[:limit]

    # ------------------------------------------------------------------ persistence (compact first)
    def meta(self) -> dict[str, Any]:
        return {"half_life_days": self.half_life_days, "category_half_life_days": self.category_half_life_days,
                "n_docs": self.n_docs, "categories": self.categories,
                "mass": {str(k): v for k, v in self.mass.items()}}

    def arrays(self) -> dict[str, Any]:
        return {"indptr": self.indptr, "cls": self.cls, "val": self.val, "df": self.df[: len(self.term_list)].copy(),
                "terms": np.frombuffer("\n".join(self.term_list).encode("utf-8"), dtype=np.uint8)}

    def restore(self, meta: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
        """Take the state saved by :meth:`meta` and :meth:`arrays`; ValueError if it is not this table's."""
        if (float(meta["half_life_days"]), float(meta["category_half_life_days"])) != (
                self.half_life_days, self.category_half_life_days):
            raise ValueError("history summary written with another half-life")
        terms = bytes(arrays["terms"]).decode("utf-8")
        self.term_list = terms.split("\n") if terms else []
        self.terms = {t: i for i, t in enumerate(self.term_list)}
        self.indptr = arrays["indptr"].astype(np.int64)
        self.cls = arrays["cls"].astype(np.int32)
        self.val = arrays["val"].astype(np.float32)
        df = arrays["df"].astype(np.float64)
        if len(self.indptr) != len(self.term_list) + 1 or len(df) != len(self.term_list):
            raise ValueError("history summary arrays do not match")
        self.df = np.zeros(max(1024, 2 * len(df)), dtype=np.float64)
        self.df[: len(df)] = df
        self.n_docs = float(meta["n_docs"])
        self.categories = list(meta["categories"])
        self._cat_index = {c: i for i, c in enumerate(self.categories)}
        self.mass = {int(k): float(v) for k, v in meta["mass"].items()}


class Batch:
    """Additions collected as COO cells; document frequencies and cells land on :meth:`commit`."""

    def __init__(self, table: TermTable) -> None:
        self.table = table
        self._rows: list[int] = []
        self._keys: list[int] = []
        self._vals: list[float] = []
        self._df_rows: list[int] = []
        self._df_vals: list[float] = []

    def add(self, vec: Mapping[str, float], classes: Iterable[tuple[int, float]], dept_weight: float,
            when: datetime) -> None:
        t = self.table
        g_cat = t.factor(when, category=True)
        t.n_docs += g_cat
        rows = [t.row(term) for term in vec]
        xs = list(vec.values())
        self._df_rows.extend(rows)
        self._df_vals.extend([g_cat] * len(rows))
        for key, w in classes:
            g = g_cat if key >= CAT_BASE else dept_weight
            t.mass[key] = t.mass.get(key, 0.0) + g
            gw = g * w
            self._rows.extend(rows)
            self._keys.extend([key] * len(rows))
            self._vals.extend(gw * x for x in xs)

    def add_df(self) -> None:
        """Add the batch's document frequencies (before the cells: see :meth:`commit`)."""
        t = self.table
        if len(t.df) < len(t.term_list):
            grown = np.zeros(2 * len(t.term_list), dtype=np.float64)
            grown[: len(t.df)] = t.df
            t.df = grown
        np.add.at(t.df, np.asarray(self._df_rows, dtype=np.int64), np.asarray(self._df_vals, dtype=np.float64))

    def commit(self, when: datetime | None) -> bool:
        """Merge the batch's cells by one compaction (after :meth:`add_df`); returns whether terms were dropped."""
        return self.table.compact(when, extra=(np.asarray(self._rows, dtype=np.int64),
                                               np.asarray(self._keys, dtype=np.int64),
                                               np.asarray(self._vals, dtype=np.float64)))
