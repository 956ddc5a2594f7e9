"""Emergency and risk alerts: an editable lexicon checked before any search.

:meth:`AlertLexicon.detect` finds the phrases that make a call an emergency (转 110/119/120/122), a
suicide risk, a collective risk or a fire hazard; a kind's severity (:data:`EMERGENCY_SEVERITY`) says
whether it is a live danger or a risk. Lines are triggers, cues, excludes and example/counter
sentences (learnt by :mod:`kb.alert_examples`); generic context rules drop negated, past, resolved,
procedural and hypothetical mentions. The pattern syntax, the context rules and how patterns and
examples combine are described in docs/ARCHITECTURE.md ("Alert lexicon").
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kb import vocab
from kb.alert_examples import Evidence, Example, ExampleModel, Memo, example_model
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

GAP_CHARS: Final = 10
"""How many characters ``…`` may skip (within one sentence)."""

_SENTENCE_STOPS: Final = "。！？!?；;\n\r"
_CLAUSE_STOPS: Final = _SENTENCE_STOPS + "，,、：:… \u3000\t"
# How pattern lines and example sentences combine (:meth:`AlertLexicon._weigh`); log-odds in nats,
# chosen by 5-fold cross-validation on example sets the patterns were never tuned on.
PATTERN_BONUS: Final = 16.0
EXAMPLE_THRESHOLD: Final = 6.0
WINDOW_THRESHOLD: Final = 35.0
SECOND_KIND_THRESHOLD: Final = 26.0
DROPPED_PENALTY: Final = 30.0

_GAP_RE: Final = f"[^{re.escape(_SENTENCE_STOPS)}]{{0,{GAP_CHARS}}}?"
# An exclude covers as much as it can: its gaps reach the farthest end word ("烧烤店油烟很大，还有股焦味"
# is one 烧烤…味 span, not 烧烤店油烟 alone).
_GREEDY_GAP_RE: Final = f"[^{re.escape(_SENTENCE_STOPS)}]{{0,{GAP_CHARS}}}"
_REGEX_ONLY: Final = frozenset("?*+[]{}\\^$")

# --- Context cues --------------------------------------------------------------------------------
# Each is one compiled alternation; "pseudo" lists mask words that contain a cue but do not carry
# its meaning (没想到 is not a negation, 主要是 is not "if").

_NEG_WINDOW: Final = 6
_NEGATORS: Final = re.compile("并没有|没有|并不是|不是|已经不|从来没|从没|不会|不想|不用|不需要|没|无|未")
_NEG_PSEUDO: Final = re.compile(
    "没想到|没办法|没人管|没人理|没人应|没人接|没多久|没过|没一会|没几|没关|没注意|没锁|没看好|没敢|没准"
    "|不知道|不清楚|不确定|不停|不住|不得了|不行|不了|不管|不一会|不然|不是很|要不是"
    # not wanting to be a burden is a warning sign, not a negation: 不想拖累我们
    "|不想拖累|不想连累|不想再拖累|不想再连累"
    "|无缘无故|无故|无人机|无法|无论|未成年|是不是|有没有|会不会|想不想|用不用"
)
_NEG_BREAK: Final = re.compile("就|才|但|可是|却|所以|结果|然后|而且|现在|突然|又|还")

_PAST_TIME_SOURCE: Final = (
    "上个?月|上个?星期|上周|上礼拜|去年|前年|之前|以前|前几天|前两天|前些天|前段时间|前阵子|上次|上回"
    "|那次|当时|曾经|早些年|那年|昨天|昨晚|前天|小时候|多年前"
    "|[一二两三四五六七八九十几半0-9０-９]+(?:天|个月|年|周|个?星期|个?礼拜)(?:以)?前"
    # a named month dates an event: 三月份出的车祸
    "|(?:[一二三四五六七八九十]|十[一二]|[0-9０-９]{1,2})月份"
    # "V了 + a day or more + 了" is time since a finished event: 手机被偷了一个月了 (but not after a
    # verb that lasts: 坐了一天了, 漏了两天了, 烧了三天了 are still going on)
    "|(?<![坐站等守堵围闹躺跪烧漏冒疼痛吐迷抽哭喊关锁困饿跟])"
    "了[一二两三四五六七八九十几半好0-9０-９]+(?:多)?(?:天|个月|年|周|个?星期|个?礼拜)(?:多)?了"
)
_PAST_TIME: Final = re.compile(_PAST_TIME_SOURCE)
# A clause that only dates the whole sentence's event in the past: "…，上周的事" / "是去年的事了".
_PAST_EVENT_CLAUSE: Final = re.compile(
    f"(?:这是|那是|都是|这都是|是)?(?:{_PAST_TIME_SOURCE})(?:发生)?的(?:事情|事儿|事)(?:了|啦|吧|啊)?"
)
_PAST_ASPECT_PSEUDO: Final = ("过来", "过去", "过不", "过程", "过年", "过节", "过马路", "过路", "过道")
_LEADING_TIME_CLAUSE_EXTRA: Final = 3
_PRESENT: Final = re.compile("现在|目前|此时|此刻|今天|正在|还在|还有|仍然|仍在|依然|一直|越来越|刚才|刚刚|又|马上")
_RESOLVED: Final = re.compile(
    "已经灭了|已经扑灭|扑灭了|灭掉了|火灭了|已经处理|处理好了|处理完了|已经好了|好多了|没事了|已经没事"
    "|已经修好|修好了|已经散了|已经解决|解决了|醒过来了|已经醒了|抢救过来|脱离了?危险|出院了|已经抓到|抓到了"
    # responders already on the scene
    "|(?:救护车|急救车|警察|民警|消防员?|交警|120|110|119)[^。！？!?]{0,6}?(?:已经)?(?:到了|来了|赶到|到场|在处理)"
    # … or already gone with the patient / the offender
    "|(?:救护车|急救车|120|警察|民警|110)[^。！？!?]{0,4}?(?:拉走|接走|送走|带走|送到医院|送去医院|送医院)"
    "|已经(?:送|送到|送去|住进|进了)医院"
)
_AFTERMATH: Final = re.compile(
    "理赔|赔偿|赔付|报销|定损|认定书|责任认定|损失|医药费|维修费|修车费|保险公司|医保能报|医保怎么报|能报多少|赔钱|不赔|赔了"
    "|伤残鉴定|伤残等级|误工费|后遗症|走保险|保险怎么|保险能"
)
_ONGOING: Final = re.compile("正在|还在|还有|又|仍然|仍在|依然|一直|越来越|到现在还|现在还|救命|快来|赶紧|马上|快点")
_PROCEDURE: Final = re.compile(
    "怎么办理|如何办理|办理|怎么申请|如何申请|申请|流程|手续|材料|报销|理赔|赔偿|赔付|保险|补贴|补助"
    "|费用|收费|怎么收|多少钱|怎么交|在哪交|哪里交|缴费|交费|罚款|发票|证明|认定书|责任认定|鉴定|回执"
    "|查询|进度|进展|有没有消息|怎么样了|政策|规定|条例|法规|培训|演练|讲座|宣传|知识|科普|预防|防范"
    "|注意事项|安全检查|安检|报名|登记|志愿者|处理结果|处理意见|处理情况|投诉.{0,10}的处理|隐患"
    "|设置|设立|选址|规划|布点|范围|算不算|属不属于"
    # replacement documents, bookings, permits, a consultation summary (来电人咨询 …), where to buy
    "|补办|怎么补|补发|挂失|预约|审批|报备|许可|咨询|哪里买|哪儿买|在哪买|去哪买|怎么买|购买"
    "|哪里求助|哪儿求助|怎么求助|求助热线|求助电话|电话是多少|电话多少|电话号码|怎么急救|如何急救|想学|交钱"
    # a complaint about how something was handled (the matter itself is over)
    "|要求投诉|我要投诉|我想投诉|想投诉|投诉一下|来投诉"
    # where a service is: 快处中心在哪里, 办事大厅几点上班
    "|(?:中心|大厅|窗口|办事处|服务站|站点|部门)(?:在哪|的地址|地址|电话|几点|上班时间|工作时间)"
    # second-hand news: the danger is the topic of what the caller read or saw, not around them
    "|网上看到|在网上看|(?<!在)网上说|网上传|新闻(?:里|上)?(?:说|报道)|看到(?:一条|个)?新闻|电视上(?:说|播)|视频里"
    "|(?:抖音|微博|快手|朋友圈|小红书|头条|群)(?:上|里)(?:看到|刷到)"
)
_URGENT: Final = re.compile("救命|快来|赶紧|正在|马上|快点")
_RISK_WORD: Final = "隐患"  # a procedure cue (4) for a live danger, the very matter of a risk kind
_HYPOTHETICAL: Final = re.compile(
    "如果|万一|假如|假设|倘若|一旦|(?<![主只需还就不想总也都])要是|可能会|容易|以免|以防|防止|避免|免得"
    # a worry about what could happen (担心是… is doubt about now, and fires)
    "|(?:担心|(?<![害可])怕)(?:会|有(?:人|小偷|贼|车|孩子|老人)|出事|发生|引起|造成|被)"
)
_NEAR_MISS: Final = re.compile("差点|差一点|险些|幸好没|好在没|还好没")
# A caller asking for information (which hospital, is it normal): weak cues alone do not raise an alert.
_CONSULT: Final = re.compile(
    "想问|请问|咨询|问一下|问问|挂什么科|看什么科|正常吗|要不要紧|严不严重|哪个医院|哪家医院|哪里可以|去哪里|去哪儿"
)
_THREAT: Final = re.compile(
    # 我就 / 我今天就 / 我们明天就 / 我马上就 …: the caller announces what they will do
    "(?:我们|我|俺们|俺|咱们)(?:今天|明天|今晚|马上|现在|立刻|立马|直接|当场|也|就在这)?就"
    "|就去|就要|就把|就到|就在|就跟|就从|就死|就跳|我会|我们会|大不了|我要|我们要"
)


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


# --- Pattern compilation -------------------------------------------------------------------------


def _literal(text: str) -> str:
    return re.escape("".join(text.split()))


def _alternative(pattern: str, text: str, gap: str = _GAP_RE) -> str:
    """One alternative of a group: literal text, possibly with inner ``…`` gaps (``(在…里|里面)``)."""
    pieces = re.split("…+", text)
    if len(pieces) > 1 and not all(p.strip() for p in pieces):
        raise ValidationError(f"提醒词「{pattern}」：括号里的“…”前后都要有文字")
    return gap.join(_literal(p) for p in pieces)


@dataclass(frozen=True)
class _Prefilter:
    """Characters a text must contain for a pattern to match: cheap to test before running the regex."""

    all_of: frozenset[str] = frozenset()
    any_of: tuple[frozenset[str], ...] = ()

    def admits(self, chars: frozenset[str]) -> bool:
        return self.all_of <= chars and all(not group.isdisjoint(chars) for group in self.any_of)

    def key(self) -> frozenset[str]:
        """A few characters one of which any matching text contains (empty: no such set is known)."""
        options = [frozenset((ch,)) for ch in self.all_of] + list(self.any_of)
        if not options:
            return frozenset()
        return min(options, key=lambda o: (len(o) + (8 if o & _COMMON_CHARS else 0), sorted(o)))


_COMMON_CHARS: Final = frozenset("了的是在有不一人我他她们就都也着过上下个说要到来去这那里子")


def _translate(pattern: str, gap: str = _GAP_RE) -> tuple[str, _Prefilter]:
    """Translate the editor syntax (plain text, ``(a|b)`` groups, ``…`` gaps) to a regex and a prefilter."""
    source = pattern.replace("...", "…")
    parts: list[str] = []  # regex pieces; "" marks a gap
    literal: list[str] = []
    required: set[str] = set()
    any_of: list[frozenset[str]] = []
    i = 0

    def flush() -> None:
        if literal:
            parts.append(_literal("".join(literal)))
            required.update(ch.lower() for ch in literal if not ch.isspace())
            literal.clear()

    while i < len(source):
        ch = source[i]
        if ch == "…":
            flush()
            while i < len(source) and source[i] == "…":
                i += 1
            if not parts or parts[-1] == "":
                raise ValidationError(f"提醒词「{pattern}」：“…”前面缺少文字")
            parts.append("")
            continue
        if ch == "(":
            end = source.find(")", i + 1)
            if end < 0:
                raise ValidationError(f"提醒词「{pattern}」：括号不成对")
            body = source[i + 1 : end]
            if "(" in body:
                raise ValidationError(f"提醒词「{pattern}」：括号不能嵌套")
            alternatives = [_alternative(pattern, a, gap) for a in body.split("|")]
            if not any(alternatives):
                raise ValidationError(f"提醒词「{pattern}」：括号里没有内容")
            firsts = ["".join(a.split())[:1].lower() for a in body.split("|")]
            if all(firsts):  # a group with an empty alternative is optional: nothing required
                any_of.append(frozenset(firsts))
            flush()
            parts.append("(?:" + "|".join(alternatives) + ")")
            i = end + 1
            continue
        if ch in ")|":
            raise ValidationError(f"提醒词「{pattern}」：多余的“{ch}”（括号外不能用）")
        literal.append(ch)
        i += 1
    flush()
    if parts and parts[-1] == "":
        raise ValidationError(f"提醒词「{pattern}」：“…”后面缺少文字")
    regex = "".join(gap if p == "" else p for p in parts)
    return regex, _Prefilter(frozenset(required), tuple(any_of))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile one lexicon pattern; raise :class:`ValidationError` if it is invalid or matches nothing."""
    return _compile(pattern)[0]


def check_line(pattern: str, polarity: str) -> None:
    """Raise :class:`ValidationError` unless ``pattern`` is valid for a line of ``polarity``: a
    pattern for trigger, cue and exclude lines, a sentence for example and counter lines."""
    if polarity not in SENTENCE_POLARITIES:
        compile_pattern(pattern)
    elif not pattern.strip():
        raise ValidationError("例句不能为空")
    elif len(pattern) > MAX_EXAMPLE_CHARS:
        raise ValidationError(f"例句不能超过 {MAX_EXAMPLE_CHARS} 字（现有 {len(pattern)} 字）")


def _compile(pattern: str, *, greedy: bool = False) -> tuple[re.Pattern[str], _Prefilter]:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValidationError("提醒词不能为空")
    text = pattern.strip()
    if text.startswith("re:"):
        source = text[3:]
        if not source.strip():
            raise ValidationError(f"提醒词「{pattern}」：正则表达式为空")
        prefilter = _Prefilter()
    else:
        stray = sorted({ch for ch in text if ch in _REGEX_ONLY})
        if stray:
            # Almost always regex syntax written without "re:", which would silently never match.
            raise ValidationError(f"提醒词「{pattern}」：普通写法不支持 {' '.join(stray)}，正则表达式请以 re: 开头")
        source, prefilter = _translate(text, _GREEDY_GAP_RE if greedy else _GAP_RE)
    try:
        compiled = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise ValidationError(f"提醒词「{pattern}」：正则表达式有误（{exc}）") from exc
    if compiled.fullmatch("") is not None:
        raise ValidationError(f"提醒词「{pattern}」：会匹配空文本")
    return compiled, prefilter


# --- Context of one text -------------------------------------------------------------------------


def _breaks(text: str, stops: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch in stops]


class _Context:
    """Sentence and clause boundaries of one text, computed once per detect call."""

    __slots__ = ("_clause_breaks", "_sentence_breaks", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentence_breaks = _breaks(text, _SENTENCE_STOPS)
        self._clause_breaks = _breaks(text, _CLAUSE_STOPS)

    @staticmethod
    def _span(breaks: list[int], pos: int, size: int) -> tuple[int, int]:
        k = bisect.bisect_left(breaks, pos)
        start = breaks[k - 1] + 1 if k > 0 else 0
        end = breaks[k] if k < len(breaks) else size
        return start, end

    def sentence(self, pos: int) -> tuple[int, int]:
        return self._span(self._sentence_breaks, pos, len(self.text))

    def clause(self, pos: int) -> tuple[int, int]:
        return self._span(self._clause_breaks, pos, len(self.text))

    def suppressed(self, start: int, end: int, *, risk: bool = False) -> bool:
        """True if the context says the match ``text[start:end]`` is not a live danger (with ``risk``,
        for a kind below :data:`EMERGENCY_SEVERITY`: not a present matter — the hypothetical rule
        and the procedure cue 隐患 do not apply)."""
        text = self.text
        s_start, s_end = self.sentence(start)
        c_start, c_end = self.clause(start)
        clause = text[c_start:c_end]

        if self._negated(c_start, start, c_end):
            return True

        past = (
            _PAST_TIME.search(clause) is not None
            or self._leading_time_clause(s_start, c_start)
            or self._past_event_clause(s_start, s_end)
        )
        if not past and text.startswith("过", end):
            past = not any(text.startswith(p, end) for p in _PAST_ASPECT_PSEUDO)
        if past and _PRESENT.search(clause) is None:
            return True

        over = _RESOLVED.search(text, s_start, s_end) or _AFTERMATH.search(text, s_start, s_end)
        if over is not None and _ONGOING.search(clause) is None:
            return True

        if self._procedure(clause, risk) and _URGENT.search(clause) is None:
            return True
        # … or in the clause where a gap match ends ("几十个业主商量好了，明天一起去物业交钱")
        e_start, e_end = self.clause(end - 1)
        if e_start != c_start:
            last = text[e_start:e_end]
            if self._procedure(last, risk) and _URGENT.search(last) is None:
                return True

        # A near-miss or hypothetical cue may also sit inside a gap pattern's match
        # ("电动车停在楼道里，我担心会起火" matches 电动车…起火).
        if _NEAR_MISS.search(text, c_start, end) is not None:
            return True
        if risk:
            return False
        cue = _HYPOTHETICAL.search(text, s_start, end)
        return cue is not None and _THREAT.search(text, cue.end(), s_end) is None

    @staticmethod
    def _procedure(clause: str, risk: bool) -> bool:
        return any(not risk or m.group() != _RISK_WORD for m in _PROCEDURE.finditer(clause))

    def _negated(self, clause_start: int, start: int, clause_end: int) -> bool:
        prefix = list(self.text[clause_start:start])
        # a pseudo-negation may run into the match (不想|拖累 with the match 拖累): it still masks its negator
        for pseudo in _NEG_PSEUDO.finditer(self.text, clause_start, clause_end):
            if pseudo.start() >= start:
                break
            for i in range(pseudo.start(), min(pseudo.end(), start)):
                prefix[i - clause_start] = "\x00"
        window = "".join(prefix[-_NEG_WINDOW:])
        return any(_NEG_BREAK.search(window, neg.end()) is None for neg in _NEGATORS.finditer(window))

    def _past_event_clause(self, sentence_start: int, sentence_end: int) -> bool:
        """A clause of the sentence that says the event is a past one: "…，上周的事"."""
        if "的事" not in self.text[sentence_start:sentence_end]:
            return False
        pos = sentence_start
        while pos < sentence_end:
            c_start, c_end = self.clause(pos)
            if _PAST_EVENT_CLAUSE.fullmatch(self.text, c_start, c_end) is not None:
                return True
            pos = max(c_end, pos) + 1
        return False

    def _leading_time_clause(self, sentence_start: int, clause_start: int) -> bool:
        """A short clause before the match's, holding little more than a past-time cue (去年冬天，…)."""
        if clause_start <= sentence_start:
            return False
        p_start, p_end = self.clause(clause_start - 1)
        if p_start < sentence_start:
            return False
        cue = _PAST_TIME.search(self.text, p_start, p_end)
        return cue is not None and (p_end - p_start) - len(cue.group()) <= _LEADING_TIME_CLAUSE_EXTRA


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
    prefilter: _Prefilter


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
            compiled = _Compiled(term, *_compile(term.pattern, greedy=term.polarity == EXCLUDE))
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
            if _CONSULT.search(scan.text, sentence_start, sentence_end) is not None:
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
    while start < end and (text[start] in _CLAUSE_STOPS or not text[start].isalnum()):
        start += 1
    while end > start and (text[end - 1] in _CLAUSE_STOPS or not text[end - 1].isalnum()):
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
        self._context: _Context | None = None

    def spans(self, group: _Group) -> list[tuple[int, int]]:
        return [m.span() for x in group.candidates(self.chars) for m in x.regex.finditer(self.text)]

    @property
    def context(self) -> _Context:
        if self._context is None:
            self._context = _Context(self.text)
        return self._context
