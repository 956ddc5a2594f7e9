"""Example sentences of the alert lexicon: a naive Bayes model over character n-grams.

Patterns catch what editors foresaw; callers keep finding new ways to say the same danger
("娃儿掉河里了在扑腾", "佢话要跳楼").  Editors therefore also keep *example* lines — sentences
that should raise a kind — and *counter* lines — sentences that should raise nothing (a figure of
speech, a past event, a consultation, a 12345 matter sharing words with an emergency).  This
module learns from them, one binary classifier per kind, so that an unseen sentence close to the
examples of a kind raises it and one close to the counter examples does not.

Model: multinomial naive Bayes, one-vs-rest per kind, over the set of character 1-, 2- and
3-grams of the text (lower-cased, full-width letters and digits folded), Lidstone smoothing
:data:`ALPHA`.  :meth:`ExampleModel.score` returns per kind the log-odds of the whole text and of
its best *window* (one clause, or two adjacent ones) with that window's span: a danger said in
passing at the end of a long complaint shows in its own clause even when the whole text reads as
an ordinary matter.  How the scores combine with the pattern lines is
:meth:`kb.alerts.AlertLexicon.detect`'s business.

Training counts n-grams with numpy (about 0.3 s for 5,400 examples) and the model is cached by
a digest of its examples, so rebuilding a lexicon whose examples did not change does not retrain.  N-grams
are packed into one ``uint64`` each (three 21-bit code points) and looked up in a sorted array:
about 32 bytes per distinct n-gram of the examples (2.8 MB for the sample's 87,000), and a text
is scored in well under a millisecond.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import numpy as np
import numpy.typing as npt

NGRAM: Final = 3
ALPHA: Final = 0.2
"""Lidstone smoothing of the n-gram counts (chosen on held-out example sets, see bench/eval_alerts.py)."""

_BITS: Final = 21  # every Unicode code point fits in 21 bits
_SPACE: Final = ord(" ")
_LOW: Final = np.uint64((1 << _BITS) - 1)  # the first character of a packed n-gram
_CHUNK: Final = 512  # examples counted at a time
_WINDOW_STOPS: Final = re.compile(r"[。！？!?；;，,\s]+")
_FOLD: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: _SPACE}

Codes = npt.NDArray[np.uint64]
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Example:
    """A sentence and the alert kinds it should raise (none: a counter example)."""

    text: str
    kinds: frozenset[str]


@dataclass(frozen=True)
class Evidence:
    """What the examples say about one kind for a text.

    ``score`` is the log-odds (natural log) that the whole text raises the kind; ``window_score``
    that of the best window, ``window`` its ``(start, end)`` in the text.
    """

    score: float
    window_score: float
    window: tuple[int, int]


def _normalise(text: str) -> str:
    folded = text.translate(_FOLD).lower()
    return folded if len(folded) == len(text) else text.translate(_FOLD)


def _ngram_codes(text: str) -> list[Codes]:
    """The packed n-grams of ``text`` by length (index 0: unigrams), in text order; spaces and
    NULs are not unigrams of their own (their code is 0, which no vocabulary holds)."""
    cps = np.frombuffer(_normalise(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    out: list[Codes] = []
    for n in range(1, NGRAM + 1):
        if len(cps) < n:
            out.append(np.zeros(0, dtype=np.uint64))
            continue
        code = cps[: len(cps) - n + 1].copy()
        for i in range(1, n):
            code |= cps[i : len(cps) - n + 1 + i] << np.uint64(_BITS * i)
        if n == 1:
            code[(code == _SPACE) | (code == 0)] = 0
        out.append(code)
    return out


def _clauses(text: str) -> list[tuple[int, int]]:
    """The clauses of ``text`` as ``(start, end)``, without their punctuation."""
    clauses: list[tuple[int, int]] = []
    pos = 0
    for stop in _WINDOW_STOPS.finditer(text):
        if stop.start() > pos:
            clauses.append((pos, stop.start()))
        pos = stop.end()
    if pos < len(text):
        clauses.append((pos, len(text)))
    return clauses


def _distinct(values: Codes) -> Codes:
    """The sorted distinct values (what ``np.unique`` returns, without its slower hashing path)."""
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) else ordered


def _example_ngrams(examples: Sequence[Example]) -> tuple[npt.NDArray[np.intp], Codes]:
    """``(example number, packed n-gram)`` pairs of the examples, each pair once (binary features).

    The texts are counted as one NUL-separated string: an n-gram belongs to the example its first
    character is in, and one that reaches into a separator is dropped."""
    joined = "\0".join(e.text.replace("\0", " ") for e in examples)
    example_of = np.cumsum(np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32) == 0)
    owners: list[npt.NDArray[np.intp]] = []
    codes: list[Codes] = []
    for n, code in enumerate(_ngram_codes(joined), start=1):
        start = np.arange(len(code))
        inside = (example_of[start] == example_of[start + n - 1]) & (code & _LOW != 0)
        owners.append(example_of[start[inside]])
        codes.append(code[inside])
    owner, code = np.concatenate(owners), np.concatenate(codes)
    order = np.lexsort((code, owner))
    owner, code = owner[order], code[order]
    first = np.concatenate([[True], (owner[1:] != owner[:-1]) | (code[1:] != code[:-1])])
    return owner[first], code[first]


class ExampleModel:
    """Per-kind naive Bayes over the character n-grams of example sentences.

    A kind without example sentences gets no classifier (:meth:`score` leaves it out).
    """

    def __init__(self, examples: Iterable[Example], kinds: Sequence[str]) -> None:
        examples = list(examples)
        self.kinds: tuple[str, ...] = tuple(k for k in kinds if any(k in e.kinds for e in examples))
        # Two passes over chunks of examples keep the temporary arrays small (the process keeps
        # the heap it grew): the vocabulary first, then the counts.
        chunks = [examples[i : i + _CHUNK] for i in range(0, len(examples), _CHUNK)]
        vocab = _distinct(np.concatenate([_distinct(_example_ngrams(chunk)[1]) for chunk in chunks]
                                         or [np.zeros(0, dtype=np.uint64)]))
        self._vocab = vocab
        size = len(vocab)
        positive = np.array([[kind in e.kinds for kind in self.kinds] for e in examples], dtype=bool)
        positive = positive.reshape(len(examples), len(self.kinds))
        pos = np.zeros((len(self.kinds), size), dtype=np.int32)
        every = np.zeros(size, dtype=np.int32)
        for number, chunk in enumerate(chunks):
            owner, codes = _example_ngrams(chunk)
            ids = np.searchsorted(vocab, codes)
            every += np.bincount(ids, minlength=size).astype(np.int32)
            chunk_positive = positive[number * _CHUNK + owner]
            for column in range(len(self.kinds)):
                pos[column] += np.bincount(ids[chunk_positive[:, column]], minlength=size).astype(np.int32)
        n_pos = positive.sum(axis=0)
        self._prior: npt.NDArray[np.float64] = np.log(n_pos / np.maximum(len(examples) - n_pos, 1))
        # row -1 (the last): an n-gram the examples never had weighs nothing
        self._weights = np.zeros((size + 1, len(self.kinds)), dtype=np.float32)
        for column in range(len(self.kinds)):
            p = pos[column].astype(np.float32)
            n = every - pos[column]
            p_total = p.sum(dtype=np.float64) + ALPHA * size
            n_total = n.sum(dtype=np.float64) + ALPHA * size
            self._weights[:size, column] = np.log((p + ALPHA) / p_total) - np.log((n + ALPHA) / n_total)
        self.size = len(examples)

    def _lookup(self, codes: Codes) -> npt.NDArray[np.intp]:
        """Vocabulary row of each code, ``-1`` where the examples never had it."""
        if not len(self._vocab):
            return np.full(len(codes), -1, dtype=np.intp)
        ids = np.minimum(np.searchsorted(self._vocab, codes), len(self._vocab) - 1)
        return np.where(self._vocab[ids] == codes, ids, -1)

    def score(self, text: str) -> dict[str, Evidence]:
        """Per kind (with examples): the log-odds of the whole text and of its best window."""
        if not self.kinds or not text.strip():
            return {}
        by_length = [self._lookup(codes) for codes in _ngram_codes(text)]
        known = np.unique(np.concatenate([ids[ids >= 0] for ids in by_length]))
        whole = self._weights[known].sum(axis=0, dtype=np.float64) + self._prior

        clauses = _clauses(text) or [(0, len(text))]
        windows = clauses + [(a[0], b[1]) for a, b in itertools.pairwise(clauses)]
        sums = self._window_sums(by_length, windows)
        best = np.argmax(sums, axis=0)
        return {
            kind: Evidence(float(whole[column]), float(sums[best[column], column]), windows[best[column]])
            for column, kind in enumerate(self.kinds)
        }

    def _window_sums(self, by_length: list[npt.NDArray[np.intp]], windows: list[tuple[int, int]]
                     ) -> npt.NDArray[np.float64]:
        """Log-odds of each window (counting each n-gram occurrence inside it), one row per window."""
        starts = np.array([w[0] for w in windows])
        ends = np.array([w[1] for w in windows])
        sums = np.zeros((len(windows), len(self.kinds)))
        zero = np.zeros((1, len(self.kinds)))
        for n, ids in enumerate(by_length, start=1):
            prefix = np.vstack([zero, np.cumsum(self._weights[ids], axis=0, dtype=np.float64)])
            # n-grams starting in [start, end - n] lie inside the window
            last = np.clip(ends - n + 1, starts, len(ids))
            sums += prefix[last] - prefix[np.minimum(starts, len(ids))]
        return sums + self._prior


class Memo(Generic[K, V]):
    """The few values built last, by key.  A build runs under the lock, so callers asking for the
    same key at once wait for one build instead of each doing it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, build: Callable[[], V]) -> V:
        with self._lock:
            value = self._items.pop(key, None)
            if value is None:
                value = build()
            self._items[key] = value  # most recent last
            while len(self._items) > self._size:
                del self._items[next(iter(self._items))]
            return value


_models: Memo[str, ExampleModel] = Memo(4)


def example_model(examples: Iterable[Example], kinds: Iterable[str]) -> ExampleModel | None:
    """The model of these examples, or ``None`` when there are none.  Cached by a digest of the
    examples (not the examples themselves, which would stay in memory twice): the same examples
    are trained once, even when only the pattern lines of the lexicon changed."""
    examples, kinds = list(examples), tuple(kinds)
    if not examples:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for e in examples:
        digest.update(f"{e.text}\x1e{','.join(sorted(e.kinds))}\x1f".encode())
    digest.update("\x1d".join(kinds).encode())
    return _models.get(digest.hexdigest(), lambda: ExampleModel(examples, kinds))
