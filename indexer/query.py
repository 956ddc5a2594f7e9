"""Turning user text into whoosh queries, and hits into snippets.

Two modes:

* **search box** (:func:`plan_search`): a few words. Each word becomes a group
  of alternatives (the word, its synonyms, its bigrams when the index does not
  know it, its pinyin, close spellings); entries matching every group rank
  first, then entries matching any.
* **call description** (:func:`plan_suggest`): 20–500 characters. Words are
  weighted by the knowledge base's own statistics (tf × idf), very common words
  are skipped and only the most informative ones are kept, then searched as one
  weighted any-word query over the single combined field.

Every query is built from concrete :class:`whoosh.query.Term` objects, so the
surfaces to highlight are known without asking whoosh.

**Relevance floor.** A plan also lists the query's meaningful words (stop words
are already gone) with their weight — idf over the knowledge base (in a call
description times the word's own weight there) — and the query matching each;
a word nothing in the index matches counts with the idf of a word no entry has,
and each part of a glued unknown word (a random string, a typo) counts on its
own. A hit's :func:`coverage` is the weight of the words it matches as a share
of the query's: of all its words in the search box (every word is typed on
purpose), of its :data:`SUGGEST_TOP_WORDS` most informative ones in a call
description (most of which is narrative no entry shares). Hits below
:data:`SEARCH_FLOOR` / :data:`SUGGEST_FLOOR` are no result: an entry sharing one
word with a random string is not an answer. The floors were set on
bench/eval_search.py's data (no real query lost) against random strings of
common characters (95 % and more of them find nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh import query as wq

from indexer import analysis
from indexer.hits import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN

SYNONYM_WEIGHT = 0.9
BIGRAM_WEIGHT = 0.7
PINYIN_WEIGHT = 0.6
FUZZY_WEIGHT = 0.5
#: Call descriptions: keep this many terms, drop terms in more than this share of entries.
SUGGEST_MAX_TERMS = 48
SUGGEST_MAX_DF = 0.25
#: Query-side weight is (1 + log tf) × idf ** SUGGEST_IDF_POWER (BM25 applies idf once more).
SUGGEST_IDF_POWER = 1.0
NUMBER_WEIGHT = 0.3
SNIPPET_CHARS = 90
#: Relevance floors: the least :func:`coverage` of a hit (see the module docstring).
SEARCH_FLOOR = 0.25
SUGGEST_FLOOR = 0.2
#: A call description's coverage is measured against its this many most informative words.
SUGGEST_TOP_WORDS = 2


@dataclass
class Plan:
    """Queries plus what to highlight: surface string → weight, and pinyin keys."""

    all_words: Any = None
    any_words: Any = None
    surfaces: dict[str, float] = field(default_factory=dict)
    pinyin: set[str] = field(default_factory=set)
    #: The query's meaningful words for the relevance floor: (the query matching the word, or None
    #: when nothing in the index does, its weight).
    words: list[tuple[Any, float]] = field(default_factory=list)
    #: Coverage is a share of this many most informative words (0: all of them).
    top_words: int = 0

    @property
    def empty(self) -> bool:
        return self.any_words is None


class _Vocab:
    """Cached term lookups against one reader."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._df: dict[tuple[str, str], int] = {}
        self.doc_count = max(1, int(reader.doc_count()))

    def df(self, fieldname: str, text: str) -> int:
        key = (fieldname, text)
        value = self._df.get(key)
        if value is None:
            value = int(self.reader.doc_frequency(fieldname, text))
            self._df[key] = value
        return value

    def has(self, fieldname: str, text: str) -> bool:
        return self.df(fieldname, text) > 0


def _expansions(word: str, synonyms: Mapping[str, Sequence[str]] | None) -> list[str]:
    """Official forms of a colloquial word (and back): exact keys first, then substrings."""
    if not synonyms:
        return []
    out: list[str] = []
    for official in synonyms.get(word, ()):
        out.append(analysis.fold(official))
    for colloquial, officials in synonyms.items():
        folded_officials = [analysis.fold(o) for o in officials]
        if word in folded_officials:
            out.append(analysis.fold(colloquial))
        elif colloquial != word and len(colloquial) >= 2 and colloquial in word:
            out.extend(word.replace(colloquial, o) for o in folded_officials)
    seen = {word}
    unique = []
    for form in out:
        if form and form not in seen:
            seen.add(form)
            unique.append(form)
    return unique


def _form_alternatives(vocab: _Vocab, form: str, weight: float, plan: Plan) -> list[Any]:
    """Queries matching one written form of a word in the text and title fields."""
    alts: list[Any] = []
    if vocab.has("text", form):
        alts.append(wq.Term("text", form, boost=weight))
        plan.surfaces[form] = max(plan.surfaces.get(form, 0.0), weight)
    elif len(form) >= 2 and analysis.is_cjk(form):
        grams = analysis.bigrams(form)
        if grams and all(vocab.has("text", g) for g in grams):
            w = weight * BIGRAM_WEIGHT / len(grams)
            alts.append(wq.And([wq.Term("text", g, boost=w) for g in grams]))
            for g in grams:
                plan.surfaces[g] = max(plan.surfaces.get(g, 0.0), weight * BIGRAM_WEIGHT)
    return alts


def _cjk_group(vocab: _Vocab, word: str, synonyms: Mapping[str, Sequence[str]] | None, plan: Plan) -> Any:
    alts = _form_alternatives(vocab, word, 1.0, plan)
    known = bool(alts) and vocab.has("text", word)
    for form in _expansions(word, synonyms):
        for sub in analysis.words_of(form) if not vocab.has("text", form) else [form]:
            alts.extend(_form_alternatives(vocab, sub, SYNONYM_WEIGHT, plan))
    if len(word) >= 2:
        full, _ = analysis.pinyin_keys(word)
        if full and vocab.has("py", full):
            alts.append(wq.Term("py", full, boost=PINYIN_WEIGHT if known else 1.0))
            if not known:  # a known word is highlighted as written; pinyin marks only homophone typos
                plan.pinyin.add(full)
    if not known and len(word) >= 3:
        for term in vocab.reader.terms_within("text", word, 1, prefix=1):
            if len(term) == len(word) and analysis.is_cjk(term):
                alts.append(wq.Term("text", term, boost=FUZZY_WEIGHT))
                plan.surfaces[term] = max(plan.surfaces.get(term, 0.0), FUZZY_WEIGHT)
    return wq.Or(alts) if alts else None


def _alpha_group(vocab: _Vocab, word: str, plan: Plan) -> Any:
    alts: list[Any] = []
    if vocab.has("text", word):
        alts.append(wq.Term("text", word))
        plan.surfaces[word] = 1.0
    if vocab.has("py", word):
        alts.append(wq.Term("py", word))
        plan.pinyin.add(word)
    elif len(word) >= 4:
        pieces = _split_pinyin(vocab, word)
        if pieces:
            alts.append(wq.And([wq.Term("py", p) for p in pieces]))
            plan.pinyin.update(pieces)
    return wq.Or(alts) if alts else None


def _split_pinyin(vocab: _Vocab, text: str) -> list[str]:
    """Split ``gongjijintiqu`` into pinyin keys the index knows (fewest pieces)."""
    n = len(text)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        current = best[i]
        if current is None:
            continue
        for j in range(min(n, i + 24), i + 1, -1):
            piece = text[i:j]
            if vocab.has("py", piece):
                candidate = [*current, piece]
                existing = best[j]
                if existing is None or len(candidate) < len(existing):
                    best[j] = candidate
    return best[n] or []


def _merge_unknown(
    vocab: _Vocab, words: list[analysis.QueryWord]
) -> list[tuple[analysis.QueryWord, list[str]]]:
    """Glue neighbouring CJK words the index does not know (a typo split by jieba: 居往/证).

    Returns each (possibly glued) word with the parts it was glued from, which
    stay alternatives of the glued word (社宝卡 + 丢 → 社宝卡丢 or 社宝卡 or 丢).
    """
    out: list[tuple[analysis.QueryWord, list[str]]] = []
    for word in words:
        unknown = word.kind == "cjk" and (len(word.text) == 1 or not vocab.has("text", word.text))
        if unknown and out and out[-1][0].kind == "cjk-unknown":
            last, parts = out[-1]
            out[-1] = (analysis.QueryWord(last.text + word.text, "cjk-unknown"), [*parts, word.text])
        else:
            out.append((analysis.QueryWord(word.text, "cjk-unknown" if unknown else word.kind), [word.text]))
    return [(analysis.QueryWord(w.text, "cjk") if w.kind == "cjk-unknown" else w, p) for w, p in out]


def plan_search(reader: Any, text: str, synonyms: Mapping[str, Sequence[str]] | None) -> Plan:
    """Search-box query: every word (all-words query) and any word."""
    vocab = _Vocab(reader)
    plan = Plan()
    groups: list[Any] = []
    for word, parts in _merge_unknown(vocab, analysis.query_words(text)):
        if word.kind == "cjk":
            group = _cjk_group(vocab, word.text, synonyms, plan)
            if len(parts) > 1:
                whole = group
                options = [whole] if whole is not None else []
                for part in parts:
                    sub = _cjk_group(vocab, part, synonyms, plan)
                    if sub is not None:
                        options.append(sub)
                    # For the floor each part is a word: matched by itself or by the glued word as a
                    # whole (居往证 → 居住证), so a glued random string matching one character covers little.
                    either = [q for q in (whole, sub) if q is not None]
                    plan.words.append((wq.Or(either) if either else None,
                                       analysis.idf(vocab.doc_count, vocab.df("text", part))))
                group = wq.Or(options) if options else None
                if group is not None:
                    groups.append(group)
                continue
        elif word.kind == "alpha":
            group = _alpha_group(vocab, word.text, plan)
        else:  # numbers and codes
            forms = [word.text]
            if not word.text[-1].isdigit():
                forms.append(word.text.rstrip("".join(analysis._UNITS)))
            alts: list[Any] = []
            for form in forms:
                alts.extend(_form_alternatives(vocab, form, 1.0, plan))
                if alts:
                    break
            group = wq.Or(alts) if alts else None
        if group is not None:
            groups.append(group)
        plan.words.append((group, analysis.idf(vocab.doc_count, vocab.df("text", word.text))))
    if not groups:
        return plan
    if len(groups) == 1:
        plan.all_words = plan.any_words = groups[0]
    else:
        plan.all_words = wq.And(groups)
        plan.any_words = wq.Or(groups)
    return plan


def plan_suggest(reader: Any, text: str, synonyms: Mapping[str, Sequence[str]] | None) -> Plan:
    """Call-description query: the most informative words, weighted by tf × idf."""
    vocab = _Vocab(reader)
    plan = Plan()
    n = vocab.doc_count
    max_df = max(3, int(n * SUGGEST_MAX_DF))
    weights: dict[str, float] = {}

    def consider(term: str, tf: float, factor: float) -> None:
        df = vocab.df("text", term)
        if df == 0 or df > max_df:
            return
        w = (1.0 + math.log(tf)) * analysis.idf(n, df) ** SUGGEST_IDF_POWER * factor
        if w > weights.get(term, 0.0):
            weights[term] = w

    counts = analysis.description_terms(text)
    unknown: list[tuple[Any, float]] = []  # words the index has nothing of, for the relevance floor
    for word, tf in counts.items():
        if len(word) == 1:
            continue
        if vocab.has("text", word):
            # Dates and small numbers say little about the topic; phone numbers and codes do.
            consider(word, tf, NUMBER_WEIGHT if word.isdigit() and len(word) < 5 else 1.0)
        elif analysis.is_cjk(word):
            grams = analysis.bigrams(word)
            for gram in grams:
                consider(gram, tf, BIGRAM_WEIGHT)
            if not any(vocab.has("text", g) for g in grams):
                unknown.append((None, (1.0 + math.log(tf)) * analysis.idf(n, 0)))
    if synonyms:
        folded = analysis.fold(text)
        for colloquial, officials in synonyms.items():
            key = analysis.fold(colloquial)
            if key and key in folded:
                for official in officials:
                    for sub in analysis.words_of(official):
                        if len(sub) > 1:
                            consider(sub, 1.0, SYNONYM_WEIGHT)
    if not weights:
        return plan
    top = sorted(weights.items(), key=lambda kv: kv[1], reverse=True)[:SUGGEST_MAX_TERMS]
    best = top[0][1]
    terms = [wq.Term("text", t, boost=w / best) for t, w in top]
    plan.surfaces = {t: w / best for t, w in top}
    plan.any_words = wq.Or(terms)
    plan.words = [(term, w) for term, (_, w) in zip(terms, top, strict=True)] + unknown
    plan.top_words = SUGGEST_TOP_WORDS
    return plan


#: Which of some documents a query matches: (query, sorted docnums) → booleans.
Matches = Callable[[Any, np.ndarray], np.ndarray]


def coverage(plan: Plan, docnums: Sequence[int], matches: Matches) -> np.ndarray:
    """The weight of the plan's meaningful words each document matches, as a share (at most 1) of
    the weight of all of them, or of the :attr:`Plan.top_words` most informative ones."""
    weights = sorted((w for _, w in plan.words), reverse=True)
    total = sum(weights[: plan.top_words] if plan.top_words else weights)
    out = np.zeros(len(docnums))
    if not total or not len(docnums):
        return out
    docs = np.asarray(docnums, dtype=np.int64)
    order = np.argsort(docs, kind="stable")
    for q, w in plan.words:
        if q is not None:
            out[order] += matches(q, docs[order]) * w
    return np.minimum(out / total, 1.0)


def scored_matches(scores: Callable[[Any], np.ndarray]) -> Matches:
    """:data:`Matches` from a query's score array over all documents (the search box has them at hand)."""
    return lambda q, docs: scores(q)[docs] > 0


def posting_matches(reader: Any) -> Matches:
    """:data:`Matches` of a single term, read from its postings: only the few blocks holding the
    documents asked about are decoded (a call description's terms were scored without dense arrays)."""

    def matches(q: Any, docs: np.ndarray) -> np.ndarray:
        out = np.zeros(len(docs), dtype=bool)
        matcher = reader.postings(q.fieldname, q.text)
        for i, doc in enumerate(docs.tolist()):
            if not matcher.is_active():
                break
            if matcher.id() < doc:
                matcher.skip_to(doc)
            out[i] = matcher.is_active() and matcher.id() == doc
        return out

    return matches


def above_floor(plan: Plan, results: Sequence[tuple[int, float]], floor: float,
                matches: Matches) -> list[tuple[int, float]]:
    """The (docnum, score) results whose :func:`coverage` reaches ``floor``, in their order."""
    cover = coverage(plan, [docnum for docnum, _ in results], matches)
    return [r for r, c in zip(results, cover, strict=True) if c >= floor]


# --------------------------------------------------------------------------- snippets


def _intervals(folded: str, plan: Plan, extra: Sequence[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int]] = []
    for surface in [*plan.surfaces, *extra]:
        if not surface:
            continue
        start = folded.find(surface)
        while start >= 0:
            spans.append((start, start + len(surface)))
            start = folded.find(surface, start + 1)
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e, folded[s:e]) for s, e in merged]


def pinyin_surfaces(plan: Plan, title: str) -> list[str]:
    """Words of the title whose pinyin (full or initials) the query asked for."""
    if not plan.pinyin:
        return []
    out = []
    for word in analysis.search_words(title):
        if len(word) >= 2:
            full, initials = analysis.pinyin_keys(word)
            if full in plan.pinyin or initials in plan.pinyin:
                out.append(word)
    return out


def _mark(text: str, spans: list[tuple[int, int, str]], lo: int, hi: int) -> str:
    parts: list[str] = []
    pos = lo
    for start, end, _ in spans:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        parts.append(text[pos:start])
        parts.append(HIGHLIGHT_OPEN + text[start:end] + HIGHLIGHT_CLOSE)
        pos = end
    parts.append(text[pos:hi])
    return "".join(parts)


def snippet_and_matches(plan: Plan, title: str, answer: str) -> tuple[str, tuple[str, ...]]:
    """Snippet of the answer around the densest cluster of matches, and the matched words."""
    extra = pinyin_surfaces(plan, title)
    folded_title = analysis.fold_aligned(title)
    folded_answer = analysis.fold_aligned(answer)
    title_spans = _intervals(folded_title, plan, extra)
    answer_spans = _intervals(folded_answer, plan, extra)

    def weight(surface: str) -> float:
        return plan.surfaces.get(surface, 0.5)

    matched: dict[str, float] = {}
    for _, _, surface in title_spans + answer_spans:
        matched[surface] = max(matched.get(surface, 0.0), weight(surface) + 0.01 * len(surface))
    ordered = tuple(s for s, _ in sorted(matched.items(), key=lambda kv: kv[1], reverse=True))

    if not answer_spans:
        text = answer or title
        lo, hi = 0, min(len(text), SNIPPET_CHARS)
        spans = [] if answer else title_spans
        body = _mark(text, spans, lo, hi)
        return body + ("…" if hi < len(text) else ""), ordered

    # Window with the most distinct matched surfaces (ties: earliest).
    best_lo, best_score = 0, -1.0
    j = 0
    for i, (start, _, _) in enumerate(answer_spans):
        j = max(j, i)
        while j + 1 < len(answer_spans) and answer_spans[j + 1][1] <= start + SNIPPET_CHARS:
            j += 1
        distinct = {s for _, _, s in answer_spans[i : j + 1]}
        score = sum(weight(s) for s in distinct)
        if score > best_score:
            best_lo, best_score = start, score
    lo = max(0, best_lo - 15)
    # Start after a sentence break when one is close.
    for k in range(best_lo - 1, lo - 1, -1):
        if answer[k] in "。！？；\n":
            lo = k + 1
            break
    hi = min(len(answer), lo + SNIPPET_CHARS)
    body = _mark(answer, answer_spans, lo, hi).strip()
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(answer) else ""), ordered
