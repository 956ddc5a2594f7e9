"""The pattern syntax of alert lexicon lines: plain text, ``(a|b)`` groups, ``…`` gaps, ``re:``.

A pattern compiles to a regular expression and a :class:`Prefilter` (characters a matching text
must contain). The syntax is described in docs/ARCHITECTURE.md ("Alert lexicon", "Pattern syntax").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from kb.alert_context import SENTENCE_STOPS
from kb.errors import ValidationError

GAP_CHARS: Final = 10
"""How many characters ``…`` may skip (within one sentence)."""

_GAP_RE: Final = f"[^{re.escape(SENTENCE_STOPS)}]{{0,{GAP_CHARS}}}?"
# An exclude covers as much as it can: its gaps reach the farthest end word ("烧烤店油烟很大，还有股焦味"
# is one 烧烤…味 span, not 烧烤店油烟 alone).
_GREEDY_GAP_RE: Final = f"[^{re.escape(SENTENCE_STOPS)}]{{0,{GAP_CHARS}}}"
_REGEX_ONLY: Final = frozenset("?*+[]{}\\^$")


def _literal(text: str) -> str:
    return re.escape("".join(text.split()))


def _alternative(pattern: str, text: str, gap: str = _GAP_RE) -> str:
    """One alternative of a group: literal text, possibly with inner ``…`` gaps (``(在…里|里面)``)."""
    pieces = re.split("…+", text)
    if len(pieces) > 1 and not all(p.strip() for p in pieces):
        raise ValidationError(f"提醒词「{pattern}」：括号里的“…”前后都要有文字")
    return gap.join(_literal(p) for p in pieces)


@dataclass(frozen=True)
class Prefilter:
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


def _translate(pattern: str, gap: str = _GAP_RE) -> tuple[str, Prefilter]:
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
    return regex, Prefilter(frozenset(required), tuple(any_of))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile one lexicon pattern; raise :class:`ValidationError` if it is invalid or matches nothing."""
    return compile_prefiltered(pattern)[0]



def compile_prefiltered(pattern: str, *, greedy: bool = False) -> tuple[re.Pattern[str], Prefilter]:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValidationError("提醒词不能为空")
    text = pattern.strip()
    if text.startswith("re:"):
        source = text[3:]
        if not source.strip():
            raise ValidationError(f"提醒词「{pattern}」：正则表达式为空")
        prefilter = Prefilter()
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
