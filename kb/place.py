"""Territory (属地): the district (区) and street/town (街道/乡镇/地区) named in a text.

Territorial routing needs to know where a case is. Callers rarely say it the
official way: "朝阳区三里屯街道", "朝阳三里屯", "海淀 中关村", or only the street
("望京那边"). :class:`Gazetteer` reads both levels from an address or a free-text
call description.

Data
----
A gazetteer is a list of records ``{"district": "朝阳区", "street": "三里屯街道",
"aliases": ["三里屯"]}``; a district's own line has ``"street": ""``; ``aliases``
may also be one spreadsheet cell ("三里屯；三里屯地区"). Every official
name and alias is a *surface form*. Aliases are curated by hand: a short form that
is an ordinary word (前门 "front gate", 平房 "bungalow", 天桥 "footbridge", 温泉,
光明 …) is deliberately left out, so only the full name (前门街道) matches it.
The sample data is ``resources/sample/gazetteer.jsonl`` (16 Beijing districts and
their streets/towns).

Matching
--------
Surface forms go into one dict, indexed by first character with the possible
lengths, built once. :meth:`Gazetteer.locate` scans the text left to right and at
each position takes the *longest* surface form starting there (leftmost-longest,
non-overlapping), which is what keeps "朝阳门" (a street of 东城区) from reading
as "朝阳" (朝阳区), and "石景山" from reading as "景山". A few *blockers* (e.g.
"东四环", "大兴安岭") are surface forms that match nothing: they consume the text
so that the place name inside them is not read. This is linear in the text length
(a regex jumps to the characters a name can start with, then a few dict lookups
there): about 0.3 ms for 500 characters of call text.

Deciding
--------
1. Districts mentioned in the text (by name or alias) are collected in order.
2. A street whose district is mentioned wins; if several pairs fit, the street and
   district mention nearest to each other, then the earliest, win. This resolves a
   street name that exists in two districts (八里庄街道 is in both 朝阳 and 海淀).
3. Otherwise a mentioned district stands alone (a street of another district in
   the same text is taken to be a false hit, or another place, and dropped).
4. With no district mentioned, the first street that belongs to one district gives
   both; a street that exists in several districts gives ``district=None`` (and
   the street, if its name is the same everywhere).

``Place.matched`` is the surface text that decided the result (mention and street
joined directly when adjacent in the text, else by one space); ``""`` if nothing
matched.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kb.errors import ImportRejected, RowError

__all__ = ["DEFAULT_BLOCKERS", "Gazetteer", "Place"]

DEFAULT_BLOCKERS: Final[tuple[str, ...]] = (
    "东四环",  # East 4th Ring Road, not 东四 (a 东城 street); runs through 朝阳
    "大兴安岭",  # the mountains, not 大兴区
    "高碑店市",  # the city in Hebei, not 高碑店地区 of 朝阳
    "张镇长",  # "Mayor Zhang", not 张镇 of 顺义
    "杨镇长",  # "Mayor Yang", not 杨镇 of 顺义
)
"""Words that contain a place name but are not that place."""

_FIELDS: Final = ("district", "street", "aliases")
_MIN_FORM_LEN: Final = 2
_ALIAS_SEPARATORS: Final = re.compile(r"[|;；,，、\n]")


@dataclass(frozen=True)
class Place:
    """Where a case is: district (区) and street/town (街道/乡镇/地区), each possibly unknown."""

    district: str | None
    street: str | None
    matched: str


@dataclass(frozen=True)
class _Target:
    district: str
    street: str | None  # None: the district itself


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    surface: str
    targets: tuple[_Target, ...]


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class Gazetteer:
    """District and street names with aliases, compiled for fast lookup in free text."""

    def __init__(
        self, records: Iterable[Mapping[str, object]], *, blockers: Iterable[str] = DEFAULT_BLOCKERS
    ) -> None:
        """Validate and compile ``records``.

        Raises :class:`kb.errors.ImportRejected` listing every bad record (1-based
        record number, field, reason); nothing is built unless all are valid.
        """
        self._records: list[tuple[str, str, tuple[str, ...]]] = []
        errors: list[RowError] = []
        seen: dict[tuple[str, str], int] = {}
        for row, raw in enumerate(records, start=1):
            record: object = raw  # from JSON: check at run time
            parsed = _parse_record(row, record, errors)
            if parsed is None:
                continue
            key = parsed[:2]
            if key in seen:
                errors.append(RowError(row, "street" if key[1] else "district", f"与第 {seen[key]} 条重复"))
                continue
            seen[key] = row
            self._records.append(parsed)
        if errors:
            raise ImportRejected(errors)

        table: dict[str, list[_Target]] = {}
        for district, street, aliases in self._records:
            target = _Target(district, street or None)
            for form in (street or district, *aliases):
                bucket = table.setdefault(_norm(form), [])
                if target not in bucket:
                    bucket.append(target)
        self._blockers = tuple(_norm(b) for b in blockers if b)
        for blocker in self._blockers:
            table.setdefault(blocker, [])  # a real place name is never blocked by its own spelling
        self._table: dict[str, tuple[_Target, ...]] = {k: tuple(v) for k, v in table.items()}
        lengths: dict[str, set[int]] = {}
        for form in self._table:
            lengths.setdefault(form[0], set()).add(len(form))
        self._lengths: dict[str, tuple[int, ...]] = {
            ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()
        }
        # Jump straight to the next character a surface form can start with.
        first_chars = "".join(re.escape(ch) for ch in sorted(self._lengths))
        self._starts: re.Pattern[str] | None = re.compile(f"[{first_chars}]") if first_chars else None

    @classmethod
    def from_jsonl(cls, path: str | Path, *, blockers: Iterable[str] = DEFAULT_BLOCKERS) -> Gazetteer:
        """Load one JSON record per line (blank lines skipped; row numbers are line numbers)."""
        records: list[Mapping[str, object]] = []
        errors: list[RowError] = []
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(RowError(line_no, "*", f"不是有效的 JSON：{exc.msg}"))
                continue
            records.append(value)
        if errors:
            raise ImportRejected(errors)
        return cls(records, blockers=blockers)

    def records(self) -> list[dict[str, object]]:
        """The records, in input order, as plain dicts (the constructor's format)."""
        return [
            {"district": district, "street": street, "aliases": list(aliases)}
            for district, street, aliases in self._records
        ]

    @property
    def blockers(self) -> tuple[str, ...]:
        return self._blockers

    def locate(self, text: str) -> Place:
        """Read the district and street named in ``text`` (see the module docstring)."""
        matches = self._scan(_norm(text))
        mentions: list[tuple[str, _Match]] = []
        streets: list[tuple[_Match, tuple[_Target, ...]]] = []
        for match in matches:
            for target in match.targets:
                if target.street is None and all(d != target.district for d, _ in mentions):
                    mentions.append((target.district, match))
            options = tuple(t for t in match.targets if t.street is not None)
            if options:
                streets.append((match, options))

        best: tuple[int, int, _Target, _Match, _Match] | None = None
        for match, options in streets:
            for target in options:
                for district, mention in mentions:
                    if district != target.district:
                        continue
                    gap = max(match.start - mention.end, mention.start - match.end, 0)
                    candidate = (gap, match.start, target, match, mention)
                    if best is None or candidate[:2] < best[:2]:
                        best = candidate
        if best is not None:
            _, _, target, match, mention = best
            return Place(target.district, target.street, _join(mention, match))

        if mentions:
            district, mention = mentions[0]
            return Place(district, None, mention.surface)

        for match, options in streets:
            if len({t.district for t in options}) == 1:
                return Place(options[0].district, _common_street(options), match.surface)
        if streets:
            match, options = streets[0]
            return Place(None, _common_street(options), match.surface)
        return Place(None, None, "")

    def _scan(self, text: str) -> list[_Match]:
        """Leftmost-longest, non-overlapping surface forms in ``text`` (blockers dropped)."""
        found: list[_Match] = []
        if self._starts is None:
            return found
        table, lengths, search = self._table, self._lengths, self._starts.search
        size = len(text)
        i = 0
        while (hit := search(text, i)) is not None:
            i = hit.start()
            step = 1
            for length in lengths[text[i]]:
                if i + length > size:
                    continue
                surface = text[i : i + length]
                targets = table.get(surface)
                if targets is not None:
                    if targets:
                        found.append(_Match(i, i + length, surface, targets))
                    step = length
                    break
            i += step
        return found


def _common_street(options: tuple[_Target, ...]) -> str | None:
    names = {t.street for t in options}
    return names.pop() if len(names) == 1 else None


def _join(first: _Match, second: _Match) -> str:
    if first is second:
        return first.surface
    a, b = sorted((first, second), key=lambda m: m.start)
    return a.surface + b.surface if a.end == b.start else f"{a.surface} {b.surface}"


def _parse_record(
    row: int, record: object, errors: list[RowError]
) -> tuple[str, str, tuple[str, ...]] | None:
    if not isinstance(record, Mapping):
        errors.append(RowError(row, "*", "每条记录必须是一个字典（键值对）"))
        return None
    problems = [RowError(row, str(key), "未知字段") for key in record if key not in _FIELDS]
    district = record.get("district")
    street = record.get("street", "")
    aliases = record.get("aliases", [])
    street = "" if street is None else street
    if aliases is None:
        aliases = []
    elif isinstance(aliases, str):  # a spreadsheet cell: "三里屯；三里屯地区"
        aliases = [a for a in _ALIAS_SEPARATORS.split(aliases) if a.strip()]
    elif isinstance(aliases, tuple):
        aliases = list(aliases)
    if not isinstance(district, str) or not district.strip():
        problems.append(RowError(row, "district", "区名不能为空"))
    elif len(district.strip()) < _MIN_FORM_LEN:
        problems.append(RowError(row, "district", f"区名“{district}”太短"))
    if not isinstance(street, str):
        problems.append(RowError(row, "street", "街道/乡镇名必须是文字（区本身这一行填空）"))
    elif street.strip() and len(street.strip()) < _MIN_FORM_LEN:
        problems.append(RowError(row, "street", f"街道/乡镇名“{street}”太短"))
    if not isinstance(aliases, list):
        problems.append(RowError(row, "aliases", "别名必须是文字列表"))
    else:
        for alias in aliases:
            if not isinstance(alias, str) or len(alias.strip()) < _MIN_FORM_LEN:
                problems.append(RowError(row, "aliases", f"别名“{alias}”无效：至少两个字"))
    if problems:
        errors.extend(problems)
        return None
    assert isinstance(district, str) and isinstance(street, str) and isinstance(aliases, list)
    cleaned = tuple(dict.fromkeys(str(a).strip() for a in aliases))
    return district.strip(), street.strip(), cleaned
