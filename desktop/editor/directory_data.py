"""Plain helpers of the directory editor (no Qt): stale departments, script variables, file formats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kb.dto import DepartmentView, RoutingRuleView, ScriptView
from kb.errors import ValidationError
from kb.sample import read_jsonl, read_synonyms
from kb.service import STALE_DAYS, KnowledgeBase

LEVEL_LABELS: dict[str, str] = {"city": "市级", "district": "区级", "street": "街道/乡镇", "enterprise": "企业"}
SCRIPT_KIND_LABELS: dict[str, str] = {
    "greeting": "开头语", "closing": "结束语", "dispatch": "派单告知", "followup": "回访", "refusal": "不予受理",
    "soothing": "安抚", "transfer": "转接", "waiting": "请稍候",
}
# Variables a script may use; the agent workspace fills them from the call (desktop.main_window.fill_script).
SCRIPT_VARIABLES: dict[str, str] = {"caller_name": "来电人称呼", "department": "承办单位", "phone": "电话",
                                    "seat": "工号", "due_at": "办理时限"}
SAMPLE_VALUES: dict[str, str] = {"caller_name": "张先生", "department": "朝阳区城市管理委员会",
                                 "phone": "010-65001234", "seat": "0123", "due_at": "12月3日17:00"}
BLANK = "____"
_VAR_RE = re.compile(r"\{(\w+)\}")


# ------------------------------------------------------------------ departments
def stale_since(today: date) -> date:
    return today - timedelta(days=STALE_DAYS)


def is_stale(d: DepartmentView, today: date) -> bool:
    """Not verified within :data:`kb.service.STALE_DAYS` days (or never)."""
    return d.last_verified is None or d.last_verified < stale_since(today)


def stale_text(d: DepartmentView, today: date) -> str:
    if d.last_verified is None:
        return "从未核实"
    return f"上次核实 {d.last_verified.isoformat()}，已 {(today - d.last_verified).days} 天"


def department_record(d: DepartmentView) -> dict[str, Any]:
    """The view as the import field names ``save_department`` takes."""
    return {"external_id": d.external_id, "name": d.name, "short_name": d.short_name, "level": d.level,
            "district": d.district, "parent": d.parent_external_id, "duties": d.duties, "phone": d.phone,
            "duty_phone": d.duty_phone, "transfer_phone": d.transfer_phone, "address": d.address,
            "hours": d.hours, "last_verified": d.last_verified.isoformat() if d.last_verified else "",
            "active": d.active}


def department_matches(d: DepartmentView, needle: str) -> bool:
    hay = " ".join((d.external_id, d.name, d.short_name, d.district, d.duties, d.phone, d.duty_phone,
                    d.transfer_phone, d.address))
    return needle.lower() in hay.lower()


# ------------------------------------------------------------------ rules
def rule_record(r: RoutingRuleView) -> dict[str, Any]:
    return {"external_id": r.external_id, "department": r.department_external_id, "category": r.category,
            "keywords": list(r.keywords), "district": r.district, "priority": r.priority, "note": r.note,
            "active": r.active}


def rule_matches(r: RoutingRuleView, needle: str, department_name: str = "") -> bool:
    hay = " ".join((r.external_id, r.department_external_id, department_name, r.category, r.district, r.note,
                    *r.keywords))
    return needle.lower() in hay.lower()


# ------------------------------------------------------------------ scripts
def script_matches(sc: ScriptView, needle: str) -> bool:
    return needle.lower() in " ".join((sc.external_id, sc.kind, sc.title, sc.body)).lower()


def script_variables(body: str) -> list[str]:
    """Variable names used in ``body``, in order of first use."""
    return list(dict.fromkeys(_VAR_RE.findall(body)))


def unknown_variables(body: str) -> list[str]:
    return [v for v in script_variables(body) if v not in SCRIPT_VARIABLES]


def fill_script(body: str, values: Mapping[str, str]) -> str:
    """Same rule as the agent workspace: a missing or empty value becomes a blank to say."""
    return _VAR_RE.sub(lambda mt: values.get(mt.group(1)) or BLANK, body)


def preview_html(body: str, values: Mapping[str, str]) -> str:
    """The filled script as HTML: filled values highlighted, unknown variables in red."""
    import html

    parts: list[str] = []
    last = 0
    for mt in _VAR_RE.finditer(body):
        parts.append(html.escape(body[last:mt.start()]))
        name = mt.group(1)
        if name not in SCRIPT_VARIABLES:
            parts.append(f'<span style="color:#c40000;font-weight:bold;">{html.escape(mt.group(0))}</span>')
        else:
            value = values.get(name) or BLANK
            parts.append(f'<span style="background-color:#e3f0ff;color:#0b3d91;">{html.escape(value)}</span>')
        last = mt.end()
    parts.append(html.escape(body[last:]))
    return "".join(parts).replace("\n", "<br>")


# ------------------------------------------------------------------ synonyms
def synonym_pairs(synonyms: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    return [(term, canonical) for term, canonicals in synonyms.items() for canonical in canonicals]


def write_synonyms(pairs: Iterable[tuple[str, str]], path: Path) -> int:
    rows = list(pairs)
    lines = ["# 口语说法<TAB>规范说法（colloquial<TAB>official），每行一对"]
    lines += [f"{a}\t{b}" for a, b in rows]
    _write_text(path, "\n".join(lines) + "\n")
    return len(rows)


def load_synonyms(path: Path) -> list[tuple[str, str]]:
    return read_synonyms(path)


# ------------------------------------------------------------------ jieba user dictionary
def parse_dict_line(line: str, number: int = 0) -> tuple[str, int | None, str] | None:
    """One jieba userdict line ``word [freq] [pos]``; None for blank and comment lines."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split()
    word, rest = parts[0], parts[1:]
    freq: int | None = None
    pos = ""
    if rest and rest[0].isdigit():
        freq = int(rest.pop(0))
    if rest:
        pos = rest.pop(0)
    if rest:
        where = f"第 {number} 行：" if number else ""
        raise ValidationError(f"{where}格式应为「词 词频 词性」：{text}")
    return word, freq, pos


def check_dict_word(word: str, freq: str, pos: str) -> tuple[str, int | None, str]:
    """A table row of the dictionary editor as (word, freq, pos), or ValidationError."""
    word, freq, pos = word.strip(), freq.strip(), pos.strip()
    if not word:
        raise ValidationError("词不能为空")
    if any(ch.isspace() for ch in word):
        raise ValidationError(f"词「{word}」不能含空格")
    if freq and not freq.isdigit():
        raise ValidationError(f"词「{word}」的词频应为正整数：{freq}")
    if pos and (any(ch.isspace() for ch in pos) or not pos.isascii()):
        raise ValidationError(f"词「{word}」的词性应为英文标记（如 n、v、nz）：{pos}")
    return word, int(freq) if freq else None, pos


def load_dict_words(path: Path) -> list[tuple[str, int | None, str]]:
    out: list[tuple[str, int | None, str]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        parsed = parse_dict_line(line, n)
        if parsed is not None:
            out.append(parsed)
    return out


def write_dict_words(words: Iterable[tuple[str, int | None, str]], path: Path) -> int:
    rows = list(words)
    lines = [" ".join(p for p in (w, "" if f is None else str(f), pos) if p) for w, f, pos in rows]
    _write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return len(rows)


# ------------------------------------------------------------------ alert lexicon
TERMS_FILE = "alert_terms.jsonl"
KINDS_FILE = "alert_kinds.jsonl"


def classify_alert_file(records: list[dict[str, Any]]) -> str:
    """'terms', 'kinds' or '' from the keys of an alert JSONL file."""
    keys = set().union(*(r.keys() for r in records)) if records else set()
    if "pattern" in keys:
        return "terms"
    if "label" in keys or "transfer_to" in keys:
        return "kinds"
    return ""


def load_alert_files(paths: Iterable[Path]) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """(terms, kinds) read from one or two JSONL files (None: that file was not among them)."""
    terms = kinds = None
    for path in paths:
        try:
            records = read_jsonl(path)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path.name} 第 {exc.lineno} 行不是有效的 JSON：{exc.msg}") from exc
        kind = classify_alert_file(records)
        if kind == "terms":
            terms = records
        elif kind == "kinds":
            kinds = records
        else:
            raise ValidationError(f"{path.name}：看不出是提醒词（pattern）还是提醒类型（label）文件")
    return terms, kinds


def write_jsonl(records: Iterable[Mapping[str, Any]], path: Path) -> int:
    rows = [json.dumps(dict(r), ensure_ascii=False) for r in records]
    _write_text(path, "\n".join(rows) + ("\n" if rows else ""))
    return len(rows)


def export_alerts(kb: KnowledgeBase, folder: Path) -> tuple[int, int]:
    terms, kinds = kb.alert_records()
    return write_jsonl(terms, folder / TERMS_FILE), write_jsonl(kinds, folder / KINDS_FILE)


# ------------------------------------------------------------------ gazetteer
def place_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        aliases = r.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [a for a in re.split(r"[|;；,，、\n]", aliases) if a.strip()]
        out.append({"district": str(r.get("district") or ""), "street": str(r.get("street") or ""),
                    "aliases": [str(a) for a in aliases]})
    return out


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
