"""Whoosh's BM25F, evaluated with numpy over whoosh's own posting blocks.

Profiling showed whoosh spending about 1 µs of Python per posting in its
matcher trees and collectors (``UnionMatcher.replace``/``max_quality``,
``BM25FScorer.score`` with a ``doc_field_length`` lookup per posting): a call
description of 24 terms touches 2,000–9,000 postings at 10k entries and ten
times that at 100k. This module keeps whoosh as the index — segments, lexicon,
postings, deletions, document frequencies, stored fields — and evaluates the
query trees the planner builds (``Term``, ``Or``, ``And`` with boosts) over
whole posting blocks at once:

* a posting block's document numbers and term frequencies are turned into
  numpy arrays in one step (whoosh stores them as delta-coded tuples);
* field lengths come from whoosh's one-byte length column, read once per
  segment and cached by segment id (segments never change once written);
* scores are the same BM25F formula, idf and average field length whoosh
  uses, so rankings equal ``Searcher.search`` (tests compare the two).

Reading blocks uses attributes of whoosh's ``W3LeafMatcher`` and
``W3PerDocReader``; when they are not there (another codec or whoosh version)
the public per-posting matcher API is used instead: slower, same result.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.util.numeric import byte_to_length

#: BM25F parameters (whoosh's defaults are B 0.75, K1 1.2). Long replies and call descriptions
#: gain from stronger length normalisation and slower tf saturation: on the 泰迪杯 evaluation
#: (bench/eval_search.py) both halves of the set agreed, MRR@10 +0.02 on whole descriptions.
B = 0.9
K1 = 2.0

_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)


@dataclass
class _Segment:
    reader: Any
    offset: int

    @property
    def segment_id(self) -> str:
        segment = self.reader.segment()  # None for the reader of an empty index
        return str(segment.segment_id()) if segment is not None else ""


class LengthCache:
    """Field-length arrays per segment id, shared by all searchers of an index."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrays: dict[tuple[str, str], np.ndarray] = {}

    def get(self, segment_id: str, segreader: Any, fieldname: str) -> np.ndarray:
        key = (segment_id, fieldname)
        with self._lock:
            cached = self._arrays.get(key)
        if cached is not None and len(cached) == segreader.doc_count_all():
            return cached
        arr = _read_lengths(segreader, fieldname)
        with self._lock:
            self._arrays[key] = arr
        return arr

    def retain(self, segment_ids: set[str]) -> None:
        """Forget segments that are gone (merged away)."""
        with self._lock:
            self._arrays = {k: v for k, v in self._arrays.items() if k[0] in segment_ids}


def _read_lengths(segreader: Any, fieldname: str) -> np.ndarray:
    count = int(segreader.doc_count_all())
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        perdoc = segreader._perdoc
        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(count, dtype=np.float64)
        raw = column._dbfile.get(column._basepos, count * column._fixedlen)
        codes = np.frombuffer(bytes(raw), dtype=np.uint8)
        if len(codes) == count:
            return _BYTE_TO_LENGTH[codes]
    except (AttributeError, ImportError, TypeError, ValueError):
        pass
    return np.array([segreader.doc_field_length(d, fieldname, 0) for d in range(count)], dtype=np.float64)


def _postings(segreader: Any, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """(segment-local document numbers, term frequencies) of one term; deleted documents may be included."""
    tbytes = text.encode("utf-8")
    try:
        matcher = segreader._terms.matcher(fieldname, tbytes, segreader.schema[fieldname].format)
    except AttributeError:
        matcher = segreader.postings(fieldname, text)  # without deleted documents
    if hasattr(matcher, "_read_data") and hasattr(matcher, "_next_block") and hasattr(matcher, "_byteids"):
        return _block_postings(matcher)
    return _matcher_postings(matcher)


def _matcher_postings(matcher: Any) -> tuple[np.ndarray, np.ndarray]:
    """The public, per-posting way (any codec)."""
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def _block_postings(matcher: Any) -> tuple[np.ndarray, np.ndarray]:
    id_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        raw_ids, raw_weights = matcher._data[0], matcher._data[1]
        ids = np.array(raw_ids, dtype=np.int64)
        if not matcher._byteids:
            ids = np.cumsum(ids)
        id_parts.append(ids)
        if raw_weights is None:
            weight_parts.append(np.ones(len(ids)))
        elif isinstance(raw_weights, float):
            weight_parts.append(np.full(len(ids), raw_weights))
        else:
            weight_parts.append(np.array(raw_weights, dtype=np.float64))
        matcher._next_block()
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(id_parts), np.concatenate(weight_parts)


class Scorer:
    """Scores whoosh query trees over one searcher; create one per searcher."""

    def __init__(self, searcher: Any, lengths: LengthCache) -> None:
        self.searcher = searcher
        reader = searcher.reader()
        self.size = int(reader.doc_count_all())
        self._segments: list[_Segment] = []
        deleted: list[int] = []
        for segreader, offset in reader.leaf_readers():
            self._segments.append(_Segment(segreader, int(offset)))
            if segreader.has_deletions():
                deleted.extend(int(offset) + d for d in segreader.deleted_docs_set)
        self._lengths = lengths
        lengths.retain({seg.segment_id for seg in self._segments})
        self.deleted = np.zeros(self.size, dtype=bool)
        if deleted:
            self.deleted[np.array(deleted, dtype=np.int64)] = True
        self._avgfl: dict[str, float] = {}

    def hidden_mask(self, docnums: Sequence[int] | set[int]) -> np.ndarray:
        """A boolean array: deleted documents and ``docnums``."""
        mask = self.deleted.copy()
        if docnums:
            mask[np.fromiter(docnums, dtype=np.int64, count=len(docnums))] = True
        return mask

    # ------------------------------------------------------------------ evaluation

    def scores(self, q: Any, memo: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Dense score array (0 = no match) of a tree of Term / Or / And queries.

        ``memo`` shares the arrays of sub-queries between calls (the search box
        scores the same word groups for its all-words and any-word queries).
        """
        if memo is not None and id(q) in memo:
            return memo[id(q)]
        if isinstance(q, wq.Term):
            out = self._term(q.fieldname, q.text) * float(q.boost)
        elif isinstance(q, wq.Or):
            out = np.zeros(self.size)
            for sub in q.subqueries:
                if isinstance(sub, wq.Term) and (memo is None or id(sub) not in memo):
                    self._add_term(out, sub.fieldname, sub.text, float(sub.boost))  # no dense array per term
                else:
                    out += self.scores(sub, memo)
        elif isinstance(q, wq.And):
            subs = [self.scores(sub, memo) for sub in q.subqueries]
            if not subs:
                return np.zeros(self.size)
            present = np.logical_and.reduce([s > 0 for s in subs])
            out = np.where(present, np.sum(subs, axis=0), 0.0)
        else:
            raise TypeError(f"cannot score query {q!r}")
        if not isinstance(q, wq.Term) and float(q.boost) != 1.0:
            out = out * float(q.boost)
        if memo is not None:
            memo[id(q)] = out
        return out

    def top(
        self, q: Any, limit: int, hidden: np.ndarray | None = None, memo: dict[int, np.ndarray] | None = None
    ) -> list[tuple[int, float]]:
        """The best ``limit`` (docnum, score) pairs, highest score first (ties: lower docnum first)."""
        return self.best(self.scores(q, memo), limit, hidden)

    def best(self, scores: np.ndarray, limit: int, hidden: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = np.where(self.deleted if hidden is None else hidden, 0.0, scores)
        matched = np.flatnonzero(scores > 0)
        if len(matched) > limit:
            part = np.argpartition(-scores[matched], limit - 1)[:limit]
            # Keep every document tied with the last one so ties break by docnum like whoosh.
            cut = scores[matched[part]].min()
            matched = matched[scores[matched] >= cut]
        order = np.lexsort((matched, -scores[matched]))
        return [(int(d), float(scores[d])) for d in matched[order][:limit]]

    def _term(self, fieldname: str, text: str) -> np.ndarray:
        out = np.zeros(self.size)
        self._add_term(out, fieldname, text, 1.0)
        return out

    def _add_term(self, out: np.ndarray, fieldname: str, text: str, boost: float) -> None:
        """Add ``boost`` × the term's BM25F score of every document containing it to ``out``."""
        if not self.searcher.doc_frequency(fieldname, text):
            return
        idf = float(self.searcher.idf(fieldname, text))
        avgfl = self._avg_field_length(fieldname)
        for seg in self._segments:
            if not seg.reader.doc_frequency(fieldname, text):
                continue
            ids, tf = _postings(seg.reader, fieldname, text)
            fl = self._lengths.get(seg.segment_id, seg.reader, fieldname)[ids]
            # A term's documents are distinct within a segment, so plain fancy-index addition is exact.
            out[ids + seg.offset] += boost * idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))

    def _avg_field_length(self, fieldname: str) -> float:
        value = self._avgfl.get(fieldname)
        if value is None:
            value = self._avgfl[fieldname] = float(self.searcher.avg_field_length(fieldname) or 1)
        return value
