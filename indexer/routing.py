"""Who handles the case and why: department and category suggestions.

Evidence, each turned into reasons an agent can check at a glance:

(a) **routing rules** editors maintain: category and/or keywords, optionally a
    district. Every condition a rule names must hold (keywords: any one of
    them in the text; category: among the suggested categories, weighted by
    its likelihood; district: the place of the case). A rule with neither
    keywords nor category is a **fallback** ("职责不清 → 属地区政府"): it is
    offered lower down, and leads when no other evidence is clear;
(b) **similar past work orders** (:mod:`indexer.history`): the departments
    cases like this were dispatched to, recent ones counting more, returned
    (退单) ones counting against; the nearest recent case is quoted;
(c) the **owners of the best-matching knowledge entries** (a score-weighted
    vote of the top search hits), the **department profiles**
    (:class:`DepartmentProfiles`: how much of the text the titles of each
    department's entries, and its name, cover — many moderately matching
    entries of one department count, not only the few best hits) and
    departments whose **name or duties** the caller mentions ("社保局",
    "省立中山图书馆").

Only the caller's meaningful words count as evidence (:func:`caller_grams`):
never a stop word (我, 一下, 我家), a single character (意 of 有意见), a bigram
across two words (人管 of 有人管吗) or one inside a word that is not a word of
it (动车 of 电动车, which would send an e-bike matter to the traffic police).

Each source gives a distribution over departments (sums to at most 1), added
with the weights below; scores are comparable across calls (about 0-2).
Categories come from the history and from the categories of the matched entries.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from indexer import analysis
from indexer.history import CAT_BASE, PastCase, WorkOrderHistory, case_terms
from indexer.hits import SearchHit
from kb.dto import DepartmentView, EntryView, RoutingRuleView
from kb.place import Place

__all__ = ["CategorySuggestion", "DepartmentProfiles", "DepartmentSuggestion", "Router", "Routing",
           "caller_grams", "caller_phrases", "caller_words", "profile_features"]

#: Hits of the answer search that vote for their owner department.
VOTE_HITS = 10
# The knowledge base's evidence (hits + profiles) weighs 1 in all, like the history's and a rule's.
# Weights chosen on an inner split of the training items of bench/eval_routing.py (``--dev``).
W_ENTRIES = 0.2
W_PROFILE = 0.8
W_NAMES = 0.45
W_HISTORY = 1.0
W_RULES = 1.0
NAME_THRESHOLD = 0.2
DUTIES_THRESHOLD = 0.3
W_DUTIES = 0.225
#: Below this best score the responsibility counts as unclear and a matching fallback rule leads.
UNCLEAR = 0.3

#: Department profiles. A query feature weighs idf ** PROFILE_IDF_POWER, idf over departments
#: (a character every department's titles have says nothing about who handles the case).
PROFILE_IDF_POWER = 2.0
#: A department having a feature in n of its entries covers n / (n + SAT · (1 + entries) ** SIZE_POWER) of it:
#: one title counts, several count more, and a big department needs more of them.
PROFILE_SAT = 1.0
PROFILE_SIZE_POWER = 0.25
#: The features of a department's name count as this many of its titles.
PROFILE_NAME_WEIGHT = 1.0
#: The best departments by coverage share the profile's weight in proportion to coverage ** SHARPEN.
PROFILE_TOP = 20
PROFILE_SHARPEN = 2.0
#: Long call texts: the opening counts, and only the most specific features.
PROFILE_CHARS = 300
PROFILE_MAX_FEATURES = 64
W_CAT_HISTORY = 1.0
W_CAT_ENTRIES = 0.5

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PAREN = re.compile(r"[（(]([^）)]*)[）)]")
_PREFIX = re.compile(r"^(中华人民共和国|中国共产党|中共|中国|[\u4e00-\u9fff]{2}省|[\u4e00-\u9fff]{2}市|省|市)")
_LATIN = re.compile(r"[a-z]{2,}")


@dataclass(frozen=True)
class DepartmentSuggestion:
    id: int
    external_id: str
    name: str
    score: float
    reasons: tuple[str, ...]
    phones: dict[str, str]


@dataclass(frozen=True)
class CategorySuggestion:
    name: str
    score: float


@dataclass(frozen=True)
class Routing:
    """The routing part of a suggestion."""

    departments: tuple[DepartmentSuggestion, ...] = ()
    categories: tuple[CategorySuggestion, ...] = ()
    similar: tuple[PastCase, ...] = ()  # nearest recent cases (any place)


@dataclass
class _Tally:
    score: float = 0.0
    reasons: list[tuple[float, str]] = field(default_factory=list)

    def add(self, score: float, reason: str = "") -> None:
        self.score += score
        if reason and all(r != reason for _, r in self.reasons):
            self.reasons.append((abs(score), reason))

    def top_reasons(self, n: int = 4) -> tuple[str, ...]:
        return tuple(r for _, r in sorted(self.reasons, key=lambda x: -x[0])[:n])


def _grams(text: str) -> set[str]:
    folded = analysis.fold_aligned(text)
    out: set[str] = set()
    for run in _CJK_RUN.findall(folded):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


@lru_cache(maxsize=64)
def caller_words(text: str) -> tuple[str, ...]:
    """The meaningful words of a call text: jieba's words (precise mode) without stop words and
    single characters; latin words of two letters or more. Folded, in text order, each once."""
    out = (w for w in analysis.words_of(text)
           if (len(w) > 1 and analysis.is_cjk(w)) or _LATIN.fullmatch(w))
    return tuple(dict.fromkeys(out))


def _word_grams(word: str, stop: frozenset[str]) -> set[str]:
    """The bigrams a word stands for: itself (two characters) or those of the words it is made of."""
    if len(word) < 2 or word in stop:
        return set()
    if len(word) == 2 or not analysis.is_cjk(word):
        return {word}
    parts = analysis.word_parts(word)
    if all(len(p) == 1 for p in parts):  # no known word in it (a name, a typo): all of it is the word
        return {word[i : i + 2] for i in range(len(word) - 1)}
    out: set[str] = set()
    for part in parts:
        out |= _word_grams(part, stop)
    return out


@lru_cache(maxsize=64)
def caller_grams(text: str) -> frozenset[str]:
    """What of a call text may count as evidence for a department: bigrams that are words.

    Each of :func:`caller_words` of two characters, and the two-character words a longer one is
    made of (:func:`analysis.word_parts`: 电动车 → 电动, not 动车; 社会保障卡 → 社会, 保障); a longer
    word made of no known words (a name, a typo) gives all its bigrams. Latin words as they are.
    """
    stop = analysis.stopwords()
    out: set[str] = set()
    for word in caller_words(text):
        out |= _word_grams(word, stop)
    return frozenset(out)


@lru_cache(maxsize=64)
def caller_phrases(text: str) -> tuple[str, ...]:
    """What the caller said that counts in full where a department has it as said: each meaningful
    word of three characters or more (电动车, 图书馆) and each two meaningful words in a row (农业资源,
    考试报名), with every bigram of it, those across its words included (see :func:`_whole_grams`)."""
    folded = analysis.fold_aligned(text)
    stop = analysis.stopwords()
    words = [folded[start:end] for start, end in analysis.word_spans(text)]
    meaningful = [analysis.is_cjk(w) and w not in stop for w in words]
    out: list[str] = []
    for i, word in enumerate(words):
        if not meaningful[i]:
            continue
        if len(word) > 2:
            out.append(word)
        if i + 1 < len(words) and meaningful[i + 1]:
            out.append(word + words[i + 1])
    return tuple(dict.fromkeys(out))


def _whole_grams(phrase: str) -> list[str]:
    """All bigrams of a phrase of :func:`caller_phrases`."""
    return [phrase[i : i + 2] for i in range(len(phrase) - 1)]


def name_forms(name: str, short_name: str = "") -> set[str]:
    """Ways a caller may name a department: full name, short name, without prefix or brackets."""
    forms = {name, short_name}
    for inner in _PAREN.findall(name):
        forms.update(re.split(r"[、，,]", inner))
    base = _PAREN.sub("", name)
    forms.add(base)
    for f in list(forms):
        stripped = _PREFIX.sub("", f)
        if stripped != f:
            forms.add(stripped)
    return {f.strip() for f in forms if len(f.strip()) >= 2}


class _NameMatcher:
    """Departments whose name (or duties) the text mentions, by idf-weighted character bigrams
    of the caller's words (:func:`caller_grams`, and a longer word in full where the name or the
    duties have it in full)."""

    def __init__(self, departments: Iterable[DepartmentView]) -> None:
        self.names: dict[int, set[str]] = {}
        self.duties: dict[int, set[str]] = {}
        self.name_text: dict[int, str] = {}
        self.duty_text: dict[int, str] = {}
        for d in departments:
            grams: set[str] = set()
            forms = name_forms(d.name, d.short_name)
            for form in forms:
                grams |= _grams(form)
            self.names[d.id] = grams
            self.name_text[d.id] = analysis.fold_aligned("\n".join(sorted(forms)))
            if d.duties.strip():
                self.duties[d.id] = _grams(d.duties)
                self.duty_text[d.id] = analysis.fold_aligned(d.duties)
        self.name_index = self._invert(self.names)
        self.duty_index = self._invert(self.duties)
        n = max(1, len(self.names))
        self.name_idf = {g: math.log(1.0 + n / len(ids)) for g, ids in self.name_index.items()}
        self.name_norm = {d: sum(self.name_idf[g] for g in gs) or 1.0 for d, gs in self.names.items()}
        m = max(1, len(self.duties))
        self.duty_idf = {g: math.log(1.0 + m / len(ids)) for g, ids in self.duty_index.items()}

    @staticmethod
    def _invert(table: dict[int, set[str]]) -> dict[str, set[int]]:
        inv: dict[str, set[int]] = defaultdict(set)
        for d, grams in table.items():
            for g in grams:
                inv[g].add(d)
        return dict(inv)

    @staticmethod
    def _hits(grams: Iterable[str], phrases: Sequence[str], index: Mapping[str, set[int]],
              texts: Mapping[int, str]) -> dict[int, list[str]]:
        """Department → the grams of the text it has.

        What the name or the duties have as the caller said it counts in full: 图书馆 in "省立中山图书馆"
        is 图书 and 书馆, 农业资源 in "农业资源与环境研究所" also 业资 (and 机动车 in duties saying
        机动车), while 电动车 stays 电动 for duties that only know 机动车."""
        hit: dict[int, set[str]] = defaultdict(set)
        for g in grams:
            for d in index.get(g, ()):
                hit[d].add(g)
        for phrase in phrases:
            whole = _whole_grams(phrase)
            for d in set.intersection(*(index.get(g, set()) for g in whole)):
                if phrase in texts[d]:
                    hit[d].update(whole)
        return {d: sorted(gs) for d, gs in hit.items()}

    def match(self, text: str) -> tuple[dict[int, tuple[float, list[str]]], dict[int, tuple[float, list[str]]]]:
        """(name scores, duty scores): dept → (0..1, matched grams)."""
        head = text[:300]
        grams, phrases = caller_grams(head), caller_phrases(head)
        names: dict[int, tuple[float, list[str]]] = {}
        for d, gs in self._hits(grams, phrases, self.name_index, self.name_text).items():
            names[d] = (sum(self.name_idf[g] for g in gs) / self.name_norm[d], gs)
        duties: dict[int, tuple[float, list[str]]] = {}
        if self.duties and grams:
            # What the duties could match: every bigram of the caller's words and phrases, in full.
            possible = grams.union(*(_whole_grams(p) for p in phrases))
            qn = sum(self.duty_idf.get(g, 0.0) for g in possible) or 1.0
            for d, gs in self._hits(grams, phrases, self.duty_index, self.duty_text).items():
                duties[d] = (sum(self.duty_idf[g] for g in gs) / qn, gs)
        return names, duties


def _join_grams(text: str, grams: Sequence[str]) -> str:
    """Matched bigrams shown as the caller's whole words they cover, joined into runs.

    "农业资源", not "农业、业资、资源"; and "暖气", not "暖气不" when 暖气 and 气不 matched
    in 暖气不热: a word only partly covered shows the words it is made of that are covered
    (电动 of 电动车, never 动车). Stop words, single characters and fragments are never shown:
    when no word is covered the result is empty.
    """
    folded = analysis.fold_aligned(text)
    covered = [False] * len(folded)
    for g in grams:
        start = folded.find(g)
        while start >= 0:
            covered[start] = covered[start + 1] = True
            start = folded.find(g, start + 1)
    stop = analysis.stopwords()
    keep = [False] * len(folded)

    def show(start: int, word: str) -> None:
        if len(word) < 2 or word in stop or not any(covered[start : start + len(word)]):
            return
        if all(covered[start : start + len(word)]):
            keep[start : start + len(word)] = [True] * len(word)
            return
        parts = analysis.word_parts(word) if analysis.is_cjk(word) else (word,)
        if len(parts) > 1:  # a word partly covered: the covered words it is made of (暖气 of 暖气不热)
            at = start
            for part in parts:
                show(at, part)
                at += len(part)

    for start, end in analysis.word_spans(text):
        show(start, folded[start:end])
    runs, cur = [], ""
    for ch, c in zip(text, keep, strict=False):
        if c:
            cur += ch
        elif cur:
            runs.append(cur)
            cur = ""
    if cur:
        runs.append(cur)
    runs = sorted(set(runs), key=len, reverse=True)[:3]
    return "、".join(runs)


def profile_features(text: str) -> set[str]:
    """What a department profile keeps of its entries' titles: the character bigrams of the CJK runs, latin words.

    A call text is compared by its :func:`caller_grams` (the bigrams that are its words), so a
    single character or a fragment of the text never counts.
    """
    folded = analysis.fold_aligned(text)
    out: set[str] = set(_LATIN.findall(folded))
    for run in _CJK_RUN.findall(folded):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


@dataclass(frozen=True)
class ProfileMatch:
    """How much of a text one department's profile covers (0..1) and by which features."""

    coverage: float
    features: tuple[tuple[str, int], ...]  # (feature, its entries that have it), most weighty first
    name_features: tuple[str, ...]  # covered by its name only
    entries: int  # its entries in the profile


class DepartmentProfiles:
    """What each department's published entries are about, to rank departments beyond the best few hits.

    Per feature (:func:`profile_features` of an entry's title, aliases and
    keywords, once per entry), how many of each department's entries have it.
    A department with many moderately matching entries then counts, as does
    one whose entries share the rare words of the text but rank low in the
    answer search. Memory is one short string per entry plus the counts; the
    engine keeps it current as entries change. Thread-safe.
    """

    def __init__(self, entries: Iterable[EntryView] = ()) -> None:
        self._lock = threading.Lock()
        # entry id → (department id, profiled text, the same folded for matching)
        self._entries: dict[int, tuple[int, str, str]] = {}
        self._counts: dict[str, dict[int, int]] = {}  # feature → department → entries with it
        self._by_dept: dict[int, set[int]] = {}  # department → entry ids
        self._generation = 0  # bumped by replace: a load started before it is stale
        self._pending: list[tuple[list[EntryView], list[int]]] | None = None  # updates during a load
        for e in entries:
            self._upsert(e)

    def __len__(self) -> int:
        return len(self._entries)

    def entries_of(self, department_id: int) -> int:
        return len(self._by_dept.get(department_id, ()))

    @staticmethod
    def _text(entry: EntryView) -> str | None:
        if entry.status != "published" or entry.department_id is None:
            return None
        return "\n".join([entry.title, *entry.aliases, *entry.keywords])

    def _upsert(self, entry: EntryView) -> None:
        self._remove(entry.id)
        text = self._text(entry)
        if text is None:
            return
        assert entry.department_id is not None
        dept = entry.department_id
        self._entries[entry.id] = (dept, text, analysis.fold_aligned(text))
        self._by_dept.setdefault(dept, set()).add(entry.id)
        for f in profile_features(text):
            self._counts.setdefault(f, {})
            self._counts[f][dept] = self._counts[f].get(dept, 0) + 1

    def _remove(self, entry_id: int) -> None:
        old = self._entries.pop(entry_id, None)
        if old is None:
            return
        dept, text, _ = old
        self._by_dept[dept].discard(entry_id)
        if not self._by_dept[dept]:
            del self._by_dept[dept]
        for f in profile_features(text):
            posting = self._counts[f]
            posting[dept] -= 1
            if not posting[dept]:
                del posting[dept]
                if not posting:
                    del self._counts[f]

    def update(self, upserts: Iterable[EntryView], deletes: Iterable[int] = ()) -> None:
        """Apply changed entries (any status: only published ones with a department count) and deleted ids."""
        upserts, deletes = list(upserts), list(deletes)
        with self._lock:
            for e in upserts:
                self._upsert(e)
            for entry_id in deletes:
                self._remove(entry_id)
            if self._pending is not None:
                self._pending.append((upserts, deletes))

    def _take(self, other: DepartmentProfiles) -> None:
        self._entries, self._counts, self._by_dept = other._entries, other._counts, other._by_dept

    def replace(self, other: DepartmentProfiles) -> None:
        """Take over the contents of a profile built aside (after an index rebuild)."""
        with self._lock:
            self._take(other)
            self._generation += 1

    def load(self, entries: Iterable[EntryView]) -> None:
        """Build from every entry, e.g. in a background thread at startup (about 5 s per 100,000 entries).

        Suggestions use what is there meanwhile; updates applied during the
        load are replayed on the result, and a :meth:`replace` meanwhile wins.
        """
        with self._lock:
            generation = self._generation
            self._pending = []
        fresh = DepartmentProfiles(entries)
        with self._lock:
            pending, self._pending = self._pending or [], None
            if generation != self._generation:
                return
            for upserts, deletes in pending:
                fresh.update(upserts, deletes)
            self._take(fresh)

    def match(self, text: str, names: Mapping[str, set[int]] | None = None,
              departments: Collection[int] | None = None) -> dict[int, ProfileMatch]:
        """Departments whose profile covers part of ``text``: coverage 0..1 (idf-weighted share of its features).

        The text's features are its :func:`caller_grams`, and the other bigrams of its
        :func:`caller_phrases` (动车 of 电动车, 试报 of 考试报名), which count only for a department
        whose profile has every bigram of the phrase. ``names``: feature → departments whose name has it (each counts as
        :data:`PROFILE_NAME_WEIGHT` entries); ``departments``: the ones that may
        be suggested (the idf is over them).
        """
        names = names or {}
        head = text[:PROFILE_CHARS]
        base = caller_grams(head)
        whole: dict[str, list[list[str]]] = defaultdict(list)  # such a bigram → the phrases it is part of
        for phrase in caller_phrases(head):
            grams = _whole_grams(phrase)
            for g in grams:
                if g not in base:
                    whole[g].append(grams)
        feats = base | whole.keys()
        if not feats:
            return {}
        with self._lock:
            if not self._entries:
                return {}
            n_depts = len(departments) if departments is not None \
                else len(self._by_dept.keys() | {d for ds in names.values() for d in ds})
            weighted: list[tuple[float, str, dict[int, int], set[int]]] = []
            for f in feats:
                posting = self._counts.get(f, {})
                named = names.get(f, set())
                df = len(posting.keys() | named) if named else len(posting)
                idf = math.log(1.0 + n_depts / df) if df else math.log(1.0 + n_depts)
                weighted.append((idf ** PROFILE_IDF_POWER, f, posting, named))
            weighted.sort(key=lambda x: (-x[0], x[1]))
            weighted = weighted[:PROFILE_MAX_FEATURES]
            total = sum(w for w, *_ in weighted) or 1.0
            cover: dict[int, float] = defaultdict(float)
            why: dict[int, list[tuple[float, str]]] = defaultdict(list)
            by_name: dict[int, list[tuple[float, str]]] = defaultdict(list)
            def has_word(dept: int, grams: list[str]) -> bool:
                return all(dept in self._counts.get(g, ()) or dept in names.get(g, ()) for g in grams)

            for w, f, posting, named in weighted:
                for dept in (posting.keys() | named) if named else posting.keys():
                    if departments is not None and dept not in departments:
                        continue
                    if f in whole and not any(has_word(dept, grams) for grams in whole[f]):
                        continue
                    n_entries = posting.get(dept, 0)
                    n = n_entries + (PROFILE_NAME_WEIGHT if dept in named else 0.0)
                    part = w * n / (n + PROFILE_SAT * (1.0 + self.entries_of(dept)) ** PROFILE_SIZE_POWER)
                    cover[dept] += part
                    (why if n_entries else by_name)[dept].append((part, f))

            def ranked(parts: list[tuple[float, str]]) -> list[str]:
                return [f for _, f in sorted(parts, key=lambda x: -x[0])]

            return {dept: ProfileMatch(c / total, tuple((f, self._counts[f][dept]) for f in ranked(why[dept])),
                                       tuple(ranked(by_name[dept])), self.entries_of(dept))
                    for dept, c in cover.items()}

    def example(self, department_id: int, features: Sequence[str], scan: int = 1000) -> str:
        """The title of one of the department's entries having the most of ``features`` (the first weigh most)."""
        with self._lock:
            ids = list(self._by_dept.get(department_id, ()))[:scan]
            texts = [self._entries[i][1:] for i in ids]
        best, best_score = "", 0.0
        for text, low in texts:
            score = sum(1.0 / (1 + k) for k, f in enumerate(features) if f in low)
            title = text.split("\n", 1)[0]
            if score > best_score or (score == best_score and score and len(title) < len(best)):
                best, best_score = title, score
        return best


def _display_features(features: Sequence[tuple[str, int]], words: Collection[str],
                      n: int = 2) -> list[tuple[str, int]]:
    """The features to show an agent: of the most weighty few, those that are the caller's words
    (``words``: :func:`caller_grams`), not 动车 that counted as part of 电动车 (a common word like
    很大 matching far down is no reason to show)."""
    out: list[tuple[str, int]] = []
    for f, count in features[: max(3 * n, 6)]:
        if f not in words or any(f in g or g in f for g, _ in out):
            continue
        out.append((f, count))
        if len(out) == n:
            break
    return out


class Router:
    """Ranks departments and categories from rules, history, matched entries and department names."""

    def __init__(self, departments: Sequence[DepartmentView], rules: Sequence[RoutingRuleView],
                 history: WorkOrderHistory | None = None, profiles: DepartmentProfiles | None = None) -> None:
        self.departments = {d.id: d for d in departments if d.active}
        self.rules = [r for r in rules if r.active and r.department_id in self.departments]
        self.history = history
        self.profiles = profiles
        self._names = _NameMatcher(self.departments.values())
        self._name_features: dict[str, set[int]] = defaultdict(set)
        for d in self.departments.values():
            for form in name_forms(d.name, d.short_name):
                for f in profile_features(form):
                    self._name_features[f].add(d.id)

    # -------------------------------------------------------------- categories
    def categories(self, hits: Sequence[SearchHit], limit: int = 3, *, text: str = "",
                   now: datetime | None = None) -> list[CategorySuggestion]:
        votes: dict[str, float] = defaultdict(float)
        entry_votes: dict[str, float] = defaultdict(float)
        for rank, hit in enumerate(hits[:10]):
            if hit.category:
                entry_votes[hit.category] += 1.0 / (rank + 1)
        total = sum(entry_votes.values())
        for name, v in entry_votes.items():
            votes[name] += W_CAT_ENTRIES * v / total
        if self.history is not None and text.strip():
            scored = [c for c in self.history.categories_for(text, now=now, limit=10) if c.score > 0]
            htotal = sum(c.score for c in scored)
            for c in scored:
                votes[self.history.category_name(c.key)] += W_CAT_HISTORY * c.score / htotal
        norm = sum(votes.values()) or 1.0
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:limit]
        return [CategorySuggestion(name, round(v / norm, 4)) for name, v in ranked]

    # -------------------------------------------------------------- departments
    def route(self, text: str, place: Place, hits: Sequence[SearchHit], *, now: datetime | None = None,
              limit: int = 5, category_limit: int = 3, similar: Sequence[PastCase] | None = None) -> Routing:
        """Categories, departments (with reasons) and the nearest recent cases for a call text.

        ``similar``: the nearest recent cases when the caller already looked them up.
        """
        vec = case_terms(text) if text.strip() else {}
        categories = self.categories(hits, category_limit, text=text, now=now)
        if similar is None:
            similar = self.history.similar(vec, limit=5) if self.history is not None and vec else []
        similar = list(similar[:5])
        departments = self._departments(text, vec, place, hits, categories, similar, now=now, limit=limit)
        return Routing(departments=tuple(departments), categories=tuple(categories), similar=tuple(similar[:3]))

    def departments_for(self, text: str, place: Place, hits: Sequence[SearchHit],
                        categories: Sequence[CategorySuggestion], limit: int = 5, *,
                        now: datetime | None = None) -> list[DepartmentSuggestion]:
        vec = case_terms(text) if text.strip() else {}
        similar = self.history.similar(vec, limit=5) if self.history is not None and vec else []
        return self._departments(text, vec, place, hits, categories, similar, now=now, limit=limit)

    def _departments(self, text: str, vec: dict[str, float], place: Place, hits: Sequence[SearchHit],
                     categories: Sequence[CategorySuggestion], similar: Sequence[PastCase], *,
                     now: datetime | None, limit: int) -> list[DepartmentSuggestion]:
        tallies: dict[int, _Tally] = defaultdict(_Tally)
        self._rule_evidence(text, place, categories, tallies)
        self._entry_evidence(hits, tallies)
        self._profile_evidence(text, tallies)
        self._name_evidence(text, tallies)
        self._history_evidence(text, vec, similar, now, tallies)
        fallbacks = self._fallbacks(place)
        best = max((t.score for t in tallies.values()), default=0.0)
        for rule in fallbacks:
            strength = rule.priority / 100.0
            where = rule.district or place.district or "属地"
            if best < UNCLEAR:
                score = best + 0.05 * strength + 0.01
                why = rule.note or f"职责不清，按属地兜底：{where}"
            else:
                score = 0.2 * strength
                why = rule.note or f"属地兜底：{where}"
            tallies[rule.department_id].add(score, why)
        ranked = sorted(((d, t) for d, t in tallies.items() if t.score > 0), key=lambda kv: -kv[1].score)
        return [self._suggestion(dept_id, tally) for dept_id, tally in ranked[:limit]]

    def _fallbacks(self, place: Place) -> list[RoutingRuleView]:
        out = []
        for rule in self.rules:
            if rule.keywords or rule.category:
                continue
            if rule.district and rule.district != place.district:
                continue
            out.append(rule)
        # A district's own fallback beats a citywide one.
        out.sort(key=lambda r: (not r.district, -r.priority))
        return out[:1]

    def _rule_evidence(self, text: str, place: Place, categories: Sequence[CategorySuggestion],
                       tallies: dict[int, _Tally]) -> None:
        folded = analysis.fold_aligned(text)
        cats = {c.name: c.score for c in categories}
        best_cat = max(cats.values(), default=0.0) or 1.0
        for rule in self.rules:
            if not rule.keywords and not rule.category:
                continue  # fallback, handled last
            if rule.district and rule.district != place.district:
                continue
            matched = [k for k in rule.keywords if k and analysis.fold_aligned(k) in folded]
            if rule.keywords and not matched:
                continue
            cat_factor = 1.0
            if rule.category:
                prefix = rule.category.rstrip("/") + "/"
                s = max((v for c, v in cats.items() if c == rule.category or c.startswith(prefix)), default=0.0)
                if s <= 0:
                    continue
                cat_factor = s / best_cat  # 1.0 when it is the most likely category
            strength = rule.priority / 100.0
            bits = []
            if matched:
                bits.append(f"关键词「{'、'.join(matched[:3])}」")
            if rule.category:
                bits.append(f"分类「{rule.category}」")
            if rule.district:
                bits.append(f"属地「{rule.district}」")
            why = (rule.note or "路由规则") + "（" + "，".join(bits) + "）"
            score = W_RULES * strength * cat_factor * (1.0 + 0.1 * max(0, len(matched) - 1))
            tallies[rule.department_id].add(score, why)

    def _entry_evidence(self, hits: Sequence[SearchHit], tallies: dict[int, _Tally]) -> None:
        votes: dict[int, float] = defaultdict(float)
        titles: dict[int, list[str]] = defaultdict(list)
        top = hits[0].score if hits else 0.0
        if top <= 0:
            return
        for rank, hit in enumerate(hits[:VOTE_HITS]):
            if hit.department_id in self.departments:
                assert hit.department_id is not None
                votes[hit.department_id] += (hit.score / top) / (1.0 + 0.5 * rank)
                titles[hit.department_id].append(hit.title)
        total = sum(votes.values())
        for dept_id, v in votes.items():
            shown = "」「".join(titles[dept_id][:2])
            tallies[dept_id].add(W_ENTRIES * v / total, f"口径「{shown}」的承办单位")

    def _profile_evidence(self, text: str, tallies: dict[int, _Tally]) -> None:
        if self.profiles is None or not text.strip():
            return
        matches = self.profiles.match(text, self._name_features, self.departments)
        best = sorted(matches.items(), key=lambda kv: (-kv[1].coverage, kv[0]))[:PROFILE_TOP]
        total = sum(m.coverage ** PROFILE_SHARPEN for _, m in best)
        if total <= 0:
            return
        words = caller_grams(text[:PROFILE_CHARS])
        for rank, (dept_id, m) in enumerate(best):
            share = m.coverage ** PROFILE_SHARPEN / total
            if m.features:
                shown = _display_features(m.features, words)
                counts = "、".join(f"「{f}」{n} 条" for f, n in shown)
                why = f"此单位口径含{counts}" if counts else "此单位口径与来电内容相近"
                if rank < 5:  # the ones shown: an example the agent can look up
                    telling = [f for f, _ in m.features[:8]]
                    title = self.profiles.example(dept_id, telling)
                    if title:
                        why += f"，如《{title[:40]}》"
            else:  # only its name covers the text
                names = "、".join(f for f, _ in _display_features([(f, 0) for f in m.name_features], words))
                why = f"单位名称含「{names}」" if names else "单位名称与来电内容相近"
            tallies[dept_id].add(W_PROFILE * share, why)

    def _name_evidence(self, text: str, tallies: dict[int, _Tally]) -> None:
        names, duties = self._names.match(text)
        for dept_id, (score, grams) in names.items():
            if score >= NAME_THRESHOLD:
                words = _join_grams(text, grams)
                tallies[dept_id].add(W_NAMES * score, f"来电提到单位名称「{words}」" if words else "来电提到单位名称")
        for dept_id, (score, grams) in duties.items():
            if score >= DUTIES_THRESHOLD:
                words = _join_grams(text, grams)
                tallies[dept_id].add(W_DUTIES * score, f"职责含「{words}」" if words else "职责与来电内容相符")

    def _history_evidence(self, text: str, vec: dict[str, float], similar: Sequence[PastCase],
                          now: datetime | None, tallies: dict[int, _Tally]) -> None:
        if self.history is None or not vec:
            return
        scored = [c for c in self.history.departments(vec, now=now, limit=10) if c.key in self.departments]
        positive = sum(c.score for c in scored if c.score > 0) or 1.0
        for c in scored:
            words = _join_grams(text, c.terms[:8])  # runs of the caller's words (none: no quote)
            quoted = f"「{words}」，" if words else ""
            if c.score > 0:
                tallies[c.key].add(W_HISTORY * c.score / positive,
                                   f"相似历史工单多派此单位（{quoted}近期约 {c.support:.0f} 件）")
            else:
                tallies[c.key].add(W_HISTORY * c.score / positive,
                                   f"相似工单曾被此单位退单（「{words}」）" if words else "相似工单曾被此单位退单")
        returned: dict[int, int] = defaultdict(int)
        for case in similar:
            if case.department_id not in self.departments:
                continue
            assert case.department_id is not None
            if case.returned:
                returned[case.department_id] += 1
            elif case.department_id in tallies:
                tallies[case.department_id].add(
                    0.05 * case.similarity,
                    f"相似工单 {case.received_at:%Y-%m-%d}「{case.text[:24]}」派此单位")
        for dept_id, n in returned.items():
            tallies[dept_id].add(-0.1 * n, f"{n} 件相似工单被此单位退单")

    def _suggestion(self, dept_id: int, tally: _Tally) -> DepartmentSuggestion:
        d = self.departments[dept_id]
        return DepartmentSuggestion(id=d.id, external_id=d.external_id, name=d.name,
                                    score=round(tally.score, 4), reasons=tally.top_reasons(), phones=d.phones)


def is_category_key(key: int) -> bool:
    return key >= CAT_BASE
