"""Character-level, Chinese-aware diff of entry texts (version history, conflict view).

Chinese has no spaces, so a word diff is useless and a line diff too coarse:
one changed character in a 300-character answer would mark the whole answer.
We diff tokens instead: every CJK character is its own token, while a run of
Latin letters or digits (``12345``, ``96069``, ``2026``) is one token, so a
changed phone number shows as one replaced number, not as scattered digits.
``difflib`` then aligns the tokens, and :func:`diff_text` merges the result
into readable segments: a tiny unchanged run (one or two characters) between
two changes is folded into the change, so "将于三十日内" → "应在十五个工作日内"
reads as one replacement instead of a comb of one-character edits.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Op = Literal["equal", "insert", "delete", "replace"]

# Latin letters/digits (with inner . , : - / for 3.5, 2026-01-01, 10:30) form one token;
# whitespace runs form one token; everything else (CJK, punctuation) is one character each.
_TOKEN_RE = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+(?:[.:/\-][0-9A-Za-z]+)*|\s+|.", re.S)
#: Unchanged runs at most this long between two changes are folded into the change.
MERGE_GAP = 2

INS_STYLE = "background-color:#d4f7d4;color:#0b4d0b;"
DEL_STYLE = "background-color:#ffd9d9;color:#7a0c0c;text-decoration:line-through;"


@dataclass(frozen=True)
class Segment:
    """One piece of a diff. ``old`` is empty for an insert, ``new`` for a delete."""

    op: Op
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.op != "equal"


def tokenize(text: str) -> list[str]:
    """Split ``text`` into diff tokens (joining them gives ``text`` back)."""
    return _TOKEN_RE.findall(text)


def _raw_segments(old: str, new: str) -> list[Segment]:
    a, b = tokenize(old), tokenize(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out.append(Segment(tag, "".join(a[i1:i2]), "".join(b[j1:j2])))
    return out


def _op(old: str, new: str) -> Op:
    if old and new:
        return "replace"
    return "delete" if old else "insert"


def diff_text(old: str, new: str, *, merge_gap: int = MERGE_GAP) -> list[Segment]:
    """Segments turning ``old`` into ``new``.

    Joining the ``old`` parts gives ``old`` and joining the ``new`` parts gives
    ``new``. Adjacent changes separated by an unchanged run of at most
    ``merge_gap`` characters become one ``replace`` segment.
    """
    if old == new:
        return [Segment("equal", old, new)] if old else []
    raw = _raw_segments(old, new)
    merged: list[Segment] = []
    i = 0
    while i < len(raw):
        seg = raw[i]
        if seg.op == "equal":
            merged.append(seg)
            i += 1
            continue
        acc_old, acc_new = seg.old, seg.new
        i += 1
        # Swallow "small equal + change" pairs that follow.
        while (i + 1 < len(raw) and raw[i].op == "equal" and len(raw[i].old) <= merge_gap
               and raw[i + 1].op != "equal"):
            acc_old += raw[i].old + raw[i + 1].old
            acc_new += raw[i].new + raw[i + 1].new
            i += 2
        merged.append(Segment(_op(acc_old, acc_new), acc_old, acc_new))
    return merged


def similarity(old: str, new: str) -> float:
    """0..1, how much of the two texts is unchanged (by characters)."""
    if not old and not new:
        return 1.0
    same = sum(len(s.old) for s in diff_text(old, new, merge_gap=0) if s.op == "equal")
    return 2.0 * same / (len(old) + len(new))


def _esc(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def side_by_side_html(segments: Sequence[Segment]) -> tuple[str, str]:
    """(old, new) as HTML: deletions struck through in red on the left, insertions green on the right."""
    left: list[str] = []
    right: list[str] = []
    for seg in segments:
        if seg.op == "equal":
            left.append(_esc(seg.old))
            right.append(_esc(seg.new))
            continue
        if seg.old:
            left.append(f'<span style="{DEL_STYLE}">{_esc(seg.old)}</span>')
        if seg.new:
            right.append(f'<span style="{INS_STYLE}">{_esc(seg.new)}</span>')
    return "".join(left), "".join(right)


def inline_html(segments: Sequence[Segment]) -> str:
    """One HTML text with deletions and insertions interleaved (compact view)."""
    parts: list[str] = []
    for seg in segments:
        if seg.op == "equal":
            parts.append(_esc(seg.old))
            continue
        if seg.old:
            parts.append(f'<span style="{DEL_STYLE}">{_esc(seg.old)}</span>')
        if seg.new:
            parts.append(f'<span style="{INS_STYLE}">{_esc(seg.new)}</span>')
    return "".join(parts)


@dataclass(frozen=True)
class FieldDiff:
    """The diff of one named field of two versions."""

    name: str
    label: str
    old: str
    new: str
    segments: tuple[Segment, ...]

    @property
    def changed(self) -> bool:
        return self.old != self.new


def diff_fields(old: Mapping[str, str], new: Mapping[str, str], labels: Mapping[str, str]) -> list[FieldDiff]:
    """A :class:`FieldDiff` for every field in ``labels`` (in its order), changed or not."""
    out: list[FieldDiff] = []
    for name, label in labels.items():
        a, b = old.get(name, ""), new.get(name, "")
        out.append(FieldDiff(name, label, a, b, tuple(diff_text(a, b))))
    return out


def side_by_side_document(diffs: Sequence[FieldDiff], *, only_changed: bool = False) -> tuple[str, str]:
    """Two HTML documents (left, right) with one labelled block per field, aligned row by row."""
    left: list[str] = []
    right: list[str] = []
    for d in diffs:
        if only_changed and not d.changed:
            continue
        lo, ro = side_by_side_html(d.segments)
        mark = " ●" if d.changed else ""
        head = f'<p style="margin:6px 0 2px 0;color:#555;"><b>{html.escape(d.label)}</b>{mark}</p>'
        empty = '<span style="color:#999;">（空）</span>'
        left.append(f"{head}<div>{lo or empty}</div>")
        right.append(f"{head}<div>{ro or empty}</div>")
    return "".join(left), "".join(right)
