"""Helpers shared by the search evaluation and benchmarks.

Builds :class:`kb.dto.EntryView` objects straight from files, without the
database: the sample knowledge base (``resources/sample/entries.jsonl``) and the
real 2020 泰迪杯 messages with government replies under ``--data-dir``.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kb.dto import EntryView  # noqa: E402
from kb.resources import resource_path  # noqa: E402
from tests.helpers import make_entry  # noqa: E402  (the tests build entries the same way)

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
TAIDI = "raw/taidi2020c"


def _date(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _tuple(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(v for v in re.split(r"[|,，;；、\s]+", value) if v)
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def load_sample_entries(path: Path | None = None) -> list[EntryView]:
    """The sample knowledge base; ids are line numbers (1-based)."""
    path = path or resource_path("sample/entries.jsonl")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        dept = raw.get("department") or ""
        if isinstance(dept, dict):
            dept = dept.get("name") or dept.get("external_id") or ""
        out.append(
            make_entry(
                n,
                raw["title"],
                raw.get("answer", ""),
                external_id=raw.get("external_id", ""),
                aliases=_tuple(raw.get("aliases")),
                keywords=_tuple(raw.get("keywords")),
                category=raw.get("category", "") or "",
                department=str(dept),
                basis=raw.get("basis", "") or "",
                valid_from=_date(raw.get("valid_from")),
                valid_to=_date(raw.get("valid_to")),
                status=raw.get("status", "published") or "published",
            )
        )
    return out


def load_sample_synonyms(path: Path | None = None) -> dict[str, list[str]]:
    path = path or resource_path("sample/synonyms.tsv")
    out: dict[str, list[str]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            out.setdefault(parts[0].strip(), []).append(parts[1].strip())
    return out


def load_colloquial(path: Path | None = None) -> list[dict[str, str]]:
    path = path or resource_path("sample/colloquial_eval.jsonl")
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def load_replies(data_dir: Path) -> list[tuple[EntryView, str]]:
    """附件4 as (entry, call description): title = 留言主题, answer = 答复意见.

    Rows with an empty reply, and every row whose reply is shared with another
    row (boilerplate replies), are dropped; so are repeated descriptions.
    """
    rows = read_csv(data_dir / TAIDI / "fj4_messages_with_replies.csv")
    reply_count: dict[str, int] = {}
    for row in rows:
        reply = row["答复意见"].strip()
        reply_count[reply] = reply_count.get(reply, 0) + 1
    out: list[tuple[EntryView, str]] = []
    seen_details: set[str] = set()
    for row in rows:
        reply, detail = row["答复意见"].strip(), row["留言详情"].strip()
        if not reply or reply_count[reply] > 1 or not detail or detail in seen_details:
            continue
        seen_details.add(detail)
        entry = make_entry(len(out) + 1, row["留言主题"].strip(), reply, external_id=f"T4-{row['留言编号']}")
        out.append((entry, detail))
    return out


def real_corpus(data_dir: Path) -> list[tuple[str, str, str]]:
    """(title, answer, description) from every 泰迪杯 file with message text (about 10k rows)."""
    out: list[tuple[str, str, str]] = []
    for entry, detail in load_replies(data_dir):
        out.append((entry.title, entry.answer, detail))
    for name in ("fj3_messages_with_votes.csv", "fj2_official_test_unlabelled.csv", "fj2_sample_labelled_messages.csv"):
        path = data_dir / TAIDI / name
        if path.is_file():
            for row in read_csv(path):
                title, detail = row["留言主题"].strip(), row["留言详情"].strip()
                if title and detail:
                    out.append((title, detail, detail))
    return out


_DISTRICTS = [f"A{i}区" for i in range(1, 10)] + ["B市", "C县", "D镇", "E街道", "F社区"]


def replicated_entries(corpus: Sequence[tuple[str, str, str]], n: int, seed: int = 7) -> Iterator[EntryView]:
    """``n`` entries from real text: the corpus as is, then copies varied by place, number and sentence order."""
    import random

    rng = random.Random(seed)
    for i in range(n):
        title, answer, _ = corpus[i % len(corpus)]
        round_ = i // len(corpus)
        if round_:
            place = rng.choice(_DISTRICTS)
            title = re.sub(r"A\d区|A市", place, title, count=1) + f"（{round_}）"
            sentences = [s for s in re.split(r"(?<=[。！？])", answer) if s]
            if len(sentences) > 2:
                head, rest = sentences[:1], sentences[1:]
                rng.shuffle(rest)
                # Borrow one sentence from another entry so copies are not pure permutations.
                other = corpus[rng.randrange(len(corpus))][1]
                rest.insert(rng.randrange(len(rest) + 1), other[: rng.randint(20, 80)] + "。")
                sentences = head + rest
            shift = round_
            answer = re.sub(r"\d+", lambda m, k=shift: str(int(m.group()) + k), "".join(sentences))
        yield make_entry(i + 1, title, answer, revision=1)


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    import resource  # POSIX only

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / (1024.0 * 1024.0)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
