"""Emergency and risk alerts: an editable lexicon checked before any search.

:meth:`AlertLexicon.detect` finds the phrases that make a call an emergency (转 110/119/120/122), a
suicide risk, a collective risk or a fire hazard; a kind's severity (:data:`EMERGENCY_SEVERITY`) says
whether it is a live danger or a risk. Lines are triggers, cues, excludes and example/counter
sentences (learnt by :mod:`kb.alert_examples`); generic context rules (:mod:`kb.alert_context`) drop
negated, past, resolved, procedural and hypothetical mentions. The pattern syntax
(:mod:`kb.alert_patterns`), the context rules and how patterns and examples combine are described in
docs/ARCHITECTURE.md ("Alert lexicon").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kb import vocab
from kb.alert_context import CLAUSE_STOPS, CONSULT, Context
from kb.alert_examples import Evidence, Example, ExampleModel, Memo, example_model
from kb.alert_patterns import Prefilter, compile_pattern, compile_prefiltered
from kb.errors import StorageError, ValidationError

TRIGGER: Final = "trigger"
EXCLUDE: Final = "exclude"
CUE: Final = "cue"
EXAMPLE: Final = "example"
COUNTER: Final = "counter"
POLARITIES: Final = vocab.ALERT_POLARITIES.codes  # (TRIGGER, EXCLUDE, CUE, EXAMPLE, COUNTER)
SENTENCE_POLARITIES: Final = (EXAMPLE, COUNTER)
"""Lines whose ``pattern`` is a whole example sentence, not a pattern."""
MAX_EXAMPLE_CHARS: Final = 300
ANY_KIND: Final = "*"
"""Kind of an exclude line that applies to every kind."""
EMERGENCY_SEVERITY: Final = 80
"""A kind of this severity or more is a live danger to life or property: the red banner, a transfer
(110/119/120/122, the crisis line) and the 1-hour deadline.  Below it (群体风险, 消防隐患) the amber
banner and an ordinary dispatch."""

# How pattern lines and example sentences combine (:meth:`AlertLexicon._weigh`); log-odds in nats,
# chosen by 5-fold cross-validation on example sets the patterns were never tuned on.
PATTERN_BONUS: Final = 16.0
EXAMPLE_THRESHOLD: Final = 6.0
WINDOW_THRESHOLD: Final = 35.0
SECOND_KIND_THRESHOLD: Final = 26.0
DROPPED_PENALTY: Final = 30.0

# --- Data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertTerm:
    """One lexicon line: a trigger or an exclude pattern for a kind (``"*"`` = any, excludes only)."""

    kind: str
    pattern: str
    polarity: str  # "trigger" | "exclude" | "cue"
    note: str = ""


@dataclass(frozen=True)
class AlertKind:
    """A kind of alert: where to transfer the call and what to say (higher severity shows first)."""

    kind: str
    label: str
    transfer_to: str
    script: str
    severity: int


@dataclass(frozen=True)
class Alert:
    """A raised alert; ``matched`` is the span of the caller's text that fired it."""

    kind: str
    label: str
    transfer_to: str
    script: str
    matched: str
    severity: int

    @property
    def emergency(self) -> bool:
        """A live danger (:data:`EMERGENCY_SEVERITY`): transfer now, not a work order."""
        return self.severity >= EMERGENCY_SEVERITY


def check_line(pattern: str, polarity: str) -> None:
    """Raise :class:`ValidationError` unless ``pattern`` is valid for a line of ``polarity``: a
    pattern for trigger, cue and exclude lines, a sentence for example and counter lines."""
    if polarity not in SENTENCE_POLARITIES:
        compile_pattern(pattern)
    elif not pattern.strip():
        raise ValidationError("例句不能为空")
    elif len(pattern) > MAX_EXAMPLE_CHARS:
        raise ValidationError(f"例句不能超过 {MAX_EXAMPLE_CHARS} 字（现有 {len(pattern)} 字）")


# --- Lexicon -------------------------------------------------------------------------------------


class _Group:
    """The compiled lines of one kind and polarity, indexed by a key character of their prefilter so
    that a text only tries the lines it could match (in lexicon order)."""

    __slots__ = ("_always", "_by_char", "items")

    def __init__(self, items: Iterable[_Compiled]) -> None:
        self.items: tuple[_Compiled, ...] = tuple(items)
        self._always: list[int] = []
        self._by_char: dict[str, list[int]] = {}
        for index, compiled in enumerate(self.items):
            key = compiled.prefilter.key()
            if not key:
                self._always.append(index)
            for ch in key:
                self._by_char.setdefault(ch, []).append(index)

    def candidates(self, chars: frozenset[str]) -> list[_Compiled]:
        """The lines whose prefilter admits a text made of ``chars``."""
        indices = set(self._always)
        by_char = self._by_char
        for ch in by_char.keys() & chars:
            indices.update(by_char[ch])
        items = self.items
        return [items[i] for i in sorted(indices) if items[i].prefilter.admits(chars)]


@dataclass(frozen=True)
class _Compiled:
    term: AlertTerm
    regex: re.Pattern[str]
    prefilter: Prefilter


def _require_str(record: Mapping[str, Any], key: str, what: str, *, default: str | None = None) -> str:
    value = record.get(key)
    if value is None:
        if default is not None:
            return default
        raise ValidationError(f"{what}缺少字段 {key}")
    if not isinstance(value, str):
        raise ValidationError(f"{what}字段 {key} 应为文字")
    return value


def _term_from_record(record: Mapping[str, Any]) -> AlertTerm:
    return AlertTerm(
        kind=_require_str(record, "kind", "提醒词"),
        pattern=_require_str(record, "pattern", "提醒词"),
        polarity=_require_str(record, "polarity", "提醒词"),
        note=_require_str(record, "note", "提醒词", default=""),
    )


def _kind_from_record(record: Mapping[str, Any]) -> AlertKind:
    severity = record.get("severity")
    if isinstance(severity, bool) or not isinstance(severity, int | str):
        raise ValidationError(f"提醒类型 {record.get('kind')!r} 的 severity 应为整数")
    try:
        level = int(severity)
    except ValueError as exc:
        raise ValidationError(f"提醒类型 {record.get('kind')!r} 的 severity 应为整数") from exc
    return AlertKind(
        kind=_require_str(record, "kind", "提醒类型"),
        label=_require_str(record, "label", "提醒类型"),
        transfer_to=_require_str(record, "transfer_to", "提醒类型"),
        script=_require_str(record, "script", "提醒类型"),
        severity=level,
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StorageError(f"无法读取 {path}: {exc}") from exc
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path.name} 第 {number} 行不是有效的 JSON：{exc.msg}") from exc
        if not isinstance(record, dict):
            raise ValidationError(f"{path.name} 第 {number} 行应为 JSON 对象")
        records.append(record)
    return records


_TERM_FIELDS: Final = ("kind", "pattern", "polarity", "note")
_KIND_FIELDS: Final = ("kind", "label", "transfer_to", "script", "severity")
_SHARED: Memo[tuple[tuple[Any, ...], tuple[Any, ...]], AlertLexicon] = Memo(2)


def _record_key(record: Mapping[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(record.get(f) for f in fields)


class AlertLexicon:
    """Compiled alert lexicon.  Build once (patterns are validated and compiled), then :meth:`detect`.

    Raises :class:`ValidationError` for an unknown polarity, a term of an undefined kind, a trigger
    of kind ``"*"``, a duplicate kind, or an invalid pattern.
    """

    def __init__(self, terms: Iterable[AlertTerm], kinds: Iterable[AlertKind]) -> None:
        self._kinds: tuple[AlertKind, ...] = tuple(kinds)
        self._terms: tuple[AlertTerm, ...] = tuple(terms)
        by_name: dict[str, AlertKind] = {}
        for kind in self._kinds:
            if not kind.kind or kind.kind == ANY_KIND:
                raise ValidationError(f"提醒类型名称无效：{kind.kind!r}")
            if kind.kind in by_name:
                raise ValidationError(f"提醒类型重复：{kind.kind}")
            by_name[kind.kind] = kind
        self._by_name = by_name

        triggers: dict[str, list[_Compiled]] = {name: [] for name in by_name}
        cues: dict[str, list[_Compiled]] = {name: [] for name in by_name}
        excludes: dict[str, list[_Compiled]] = {name: [] for name in by_name}
        shared_excludes: list[_Compiled] = []
        sentences: dict[str, set[str]] = {}  # example/counter text -> the kinds it should raise
        for term in self._terms:
            if term.polarity not in POLARITIES:
                raise ValidationError(
                    f"提醒词「{term.pattern}」：polarity 应为 trigger、cue、exclude、example 或 counter")
            if term.kind == ANY_KIND and term.polarity not in (EXCLUDE, COUNTER):
                raise ValidationError(f"提醒词「{term.pattern}」：触发词、线索词和例句必须指定提醒类型")
            if term.kind != ANY_KIND and term.kind not in by_name:
                raise ValidationError(f"提醒词「{term.pattern}」：未知的提醒类型 {term.kind!r}")
            if term.polarity in SENTENCE_POLARITIES:
                check_line(term.pattern, term.polarity)
                kinds_of = sentences.setdefault(term.pattern.strip(), set())
                if term.polarity == EXAMPLE:
                    kinds_of.add(term.kind)
                continue
            compiled = _Compiled(term, *compile_prefiltered(term.pattern, greedy=term.polarity == EXCLUDE))
            if term.polarity == TRIGGER:
                triggers[term.kind].append(compiled)
            elif term.polarity == CUE:
                cues[term.kind].append(compiled)
            elif term.kind == ANY_KIND:
                shared_excludes.append(compiled)
            else:
                excludes[term.kind].append(compiled)
        self._triggers = triggers
        self._cues = cues
        self._excludes = {name: tuple(rx + shared_excludes) for name, rx in excludes.items()}
        self._trigger_groups = {name: _Group(rx) for name, rx in triggers.items()}
        self._cue_groups = {name: _Group(rx) for name, rx in cues.items()}
        self._exclude_groups = {name: _Group(rx) for name, rx in excludes.items()}
        self._shared_group = _Group(shared_excludes)
        # Most severe first; ties keep the order the kinds were given in.
        self._order = sorted(self._kinds, key=lambda k: -k.severity)
        self._model: ExampleModel | None = example_model(
            (Example(text, frozenset(kinds)) for text, kinds in sentences.items()), list(by_name))

    @classmethod
    def from_records(cls, terms: Iterable[Mapping[str, Any]], kinds: Iterable[Mapping[str, Any]]) -> AlertLexicon:
        """Build from mappings with the dataclass field names (database rows, JSON); extra keys ignored."""
        return cls([_term_from_record(t) for t in terms], [_kind_from_record(k) for k in kinds])

    @classmethod
    def shared(cls, terms: Iterable[Mapping[str, Any]], kinds: Iterable[Mapping[str, Any]]) -> AlertLexicon:
        """:meth:`from_records`, built once per distinct content in the process.

        The main window (alerts before the engine is ready), the engine and the editor's try box
        load the same lines: they share one compiled lexicon, and a second caller waits for the
        first one's build instead of compiling the patterns and counting the examples again."""
        terms, kinds = list(terms), list(kinds)
        key = (tuple(_record_key(t, _TERM_FIELDS) for t in terms), tuple(_record_key(k, _KIND_FIELDS) for k in kinds))
        return _SHARED.get(key, lambda: cls.from_records(terms, kinds))

    @classmethod
    def from_jsonl(cls, terms_path: Path, kinds_path: Path) -> AlertLexicon:
        """Build from two JSON-lines files (``resources/sample/alert_terms.jsonl`` / ``alert_kinds.jsonl``)."""
        return cls.from_records(_read_jsonl(terms_path), _read_jsonl(kinds_path))

    @property
    def terms(self) -> tuple[AlertTerm, ...]:
        return self._terms

    @property
    def kinds(self) -> tuple[AlertKind, ...]:
        return self._kinds

    @property
    def examples(self) -> int:
        """How many distinct example and counter sentences the lexicon learned from."""
        return self._model.size if self._model is not None else 0

    def detect(self, text: str) -> list[Alert]:
        """Alerts raised by ``text``: at most one per kind, most severe first."""
        if not text or text.isspace():
            return []
        matches = self._pattern_matches(text)
        found = matches.live
        if self._model is not None:
            found = self._weigh(text, matches, self._model.score(text))
        return [
            Alert(
                kind=kind.kind,
                label=kind.label,
                transfer_to=kind.transfer_to,
                script=kind.script,
                matched=text[span[0] : span[1]],
                severity=kind.severity,
            )
            for kind in self._order
            if (span := found.get(kind.kind)) is not None
        ]

    def explain(self, text: str) -> dict[str, tuple[tuple[int, int] | None, Evidence | None, float]]:
        """For the editor's try box, per kind: the live pattern match (or ``None``), what the example
        sentences say (``None`` for a kind without examples) and what the patterns add to that
        (:data:`PATTERN_BONUS`, ``-``:data:`DROPPED_PENALTY` or 0)."""
        if not text.strip():
            return {k.kind: (None, None, 0.0) for k in self._order}
        matches = self._pattern_matches(text)
        evidence = self._model.score(text) if self._model is not None else {}
        return {k.kind: (matches.live.get(k.kind), ev := evidence.get(k.kind),
                         self._adjustment(matches, k.kind, ev) if ev is not None else 0.0)
                for k in self._order}

    def _pattern_matches(self, text: str) -> _Matches:
        """Per kind, the span of the first live trigger match (or of the first cue pair), and the
        kinds whose triggers matched only where an exclude or a context rule drops them."""
        scan = _Scan(text)
        matches = _Matches({}, set(), scan)
        for kind in self._order:
            span, matched = self._first_trigger(scan, kind.kind)
            if span is None and self._cue_groups[kind.kind].items:
                span = self._cue_pair(scan, kind.kind)
            if span is not None:
                matches.live[kind.kind] = span
            elif matched:
                matches.dropped.add(kind.kind)
        return matches

    def _own_exclude(self, scan: _Scan, kind: str) -> bool:
        """Whether an exclude line of ``kind`` itself (not of every kind) matches: the editors' word
        that the text is not this kind ("业主群都炸了锅" for escalate)."""
        return any(x.regex.search(scan.text) for x in self._exclude_groups[kind].candidates(scan.chars))

    def _adjustment(self, matches: _Matches, kind: str, ev: Evidence) -> float:
        """What the pattern lines add to the examples' log-odds for ``kind`` (see :meth:`_weigh`)."""
        if kind in matches.live:
            return PATTERN_BONUS
        if kind in matches.dropped:
            return -DROPPED_PENALTY
        if max(ev.score, ev.window_score) > min(EXAMPLE_THRESHOLD, WINDOW_THRESHOLD) \
                and self._own_exclude(matches.scan, kind):  # looked up only where it could matter
            return -DROPPED_PENALTY
        return 0.0

    def _weigh(self, text: str, matches: _Matches, evidence: dict[str, Evidence]) -> dict[str, tuple[int, int]]:
        """Combine pattern matches with the example sentences (kinds without examples keep their
        pattern matches as they are).

        A kind's score is the examples' log-odds for the whole text, plus :data:`PATTERN_BONUS` when
        a pattern matched, minus :data:`DROPPED_PENALTY` when its triggers matched only where a
        context rule or an exclude drops them (negated, past, hypothetical, a figure of speech …),
        or when one of its own exclude lines matches.
        The kind is raised when the score passes :data:`EXAMPLE_THRESHOLD`, or when one window (a
        clause or two) alone passes :data:`WINDOW_THRESHOLD` (less the same penalty).  So a pattern
        match fires unless the examples are sure the text is not this kind, and a text like the
        examples fires without any pattern.  Of several kinds raised, the best one stays, and the
        others only with a score above :data:`SECOND_KIND_THRESHOLD` (a crash with an unconscious
        driver: 122 and 120), or when a pattern of theirs matched and their best window, with the
        bonus, passes it too (a second event told in its own clause).
        """
        raised: dict[str, tuple[float, bool, tuple[int, int]]] = {}
        for kind, ev in evidence.items():
            span = matches.live.get(kind)
            adjust = self._adjustment(matches, kind, ev)
            score = ev.score + adjust
            if score > EXAMPLE_THRESHOLD or ev.window_score + min(adjust, 0.0) > WINDOW_THRESHOLD:
                # a second event in its own clause, found by a pattern: "…拿着刀，…车库着火了"
                own_event = span is not None and ev.window_score + adjust > SECOND_KIND_THRESHOLD
                raised[kind] = (score, own_event, span if span is not None else _trim(text, ev.window))
        result = {kind: span for kind, span in matches.live.items() if kind not in evidence}
        if raised:
            best = max(score for score, _own, _span in raised.values())
            result.update((kind, span) for kind, (score, own_event, span) in raised.items()
                          if score == best or score > SECOND_KIND_THRESHOLD or own_event)
        return result

    def _live_matches(self, scan: _Scan, kind: str, compiled: _Compiled) -> Iterator[tuple[int, int]]:
        """Spans of ``compiled`` in the text that no exclude overlaps and no context rule suppresses.

        After a dropped match the search resumes one character later, not after it: a gap match that
        starts in a clause about something else ("投诉燃气公司，煤气泄…") must not hide a shorter one.
        """
        regex, text = compiled.regex, scan.text
        pos = 0
        while (match := regex.search(text, pos)) is not None:
            start, end = match.span()
            pos = start + 1
            if start == end:
                continue
            if any(xs < end and start < xe for xs, xe in self._excluded(scan, kind)):
                continue
            if scan.context.suppressed(start, end, risk=self._by_name[kind].severity < EMERGENCY_SEVERITY):
                continue
            yield start, end

    def _excluded(self, scan: _Scan, kind: str) -> list[tuple[int, int]]:
        """Spans of the text covered by an exclude of ``kind`` or of every kind (computed once)."""
        spans = scan.excluded.get(kind)
        if spans is None:
            if scan.shared is None:
                scan.shared = scan.spans(self._shared_group)
            spans = scan.excluded[kind] = scan.spans(self._exclude_groups[kind]) + scan.shared
        return spans

    def _first_trigger(self, scan: _Scan, kind: str) -> tuple[tuple[int, int] | None, bool]:
        """The earliest live trigger match, and whether any trigger matched at all (live or not)."""
        found: tuple[int, int] | None = None
        matched = False
        for compiled in self._trigger_groups[kind].candidates(scan.chars):
            if compiled.regex.search(scan.text) is None:  # the common case: skip the generator
                continue
            matched = True
            for span in self._live_matches(scan, kind, compiled):
                if found is None or span[0] < found[0]:
                    found = span
                break
        return found, matched

    def _cue_pair(self, scan: _Scan, kind: str) -> tuple[int, int] | None:
        """The earliest two live matches of *different* cue lines in one sentence, as one span."""
        spans: list[tuple[int, int, int]] = []  # start, end, which cue line
        for line, compiled in enumerate(self._cue_groups[kind].candidates(scan.chars)):
            if compiled.regex.search(scan.text) is None:
                continue
            spans.extend((start, end, line) for start, end in self._live_matches(scan, kind, compiled))
        spans.sort()
        for i, (a_start, a_end, a_line) in enumerate(spans):
            sentence_start, sentence_end = scan.context.sentence(a_start)
            if CONSULT.search(scan.text, sentence_start, sentence_end) is not None:
                continue
            for b_start, b_end, b_line in spans[i + 1 :]:
                if b_start >= sentence_end:
                    break
                if b_line != a_line and b_start >= a_end:
                    return a_start, b_end
        return None


@dataclass
class _Matches:
    live: dict[str, tuple[int, int]]
    dropped: set[str]
    scan: _Scan


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """``span`` without leading or trailing punctuation and spaces."""
    start, end = span
    while start < end and (text[start] in CLAUSE_STOPS or not text[start].isalnum()):
        start += 1
    while end > start and (text[end - 1] in CLAUSE_STOPS or not text[end - 1].isalnum()):
        end -= 1
    return (start, end) if start < end else span


class _Scan:
    """One text being checked: its characters, lazily its context and the exclude spans per kind."""

    __slots__ = ("_context", "chars", "excluded", "shared", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.chars = frozenset(text.lower())
        self.excluded: dict[str, list[tuple[int, int]]] = {}
        self.shared: list[tuple[int, int]] | None = None
        self._context: Context | None = None

    def spans(self, group: _Group) -> list[tuple[int, int]]:
        return [m.span() for x in group.candidates(self.chars) for m in x.regex.finditer(self.text)]

    @property
    def context(self) -> Context:
        if self._context is None:
            self._context = Context(self.text)
        return self._context
