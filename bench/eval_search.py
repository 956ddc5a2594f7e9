"""Search quality on real data and on the colloquial test set.

Usage: .venv/bin/python bench/eval_search.py [--data-dir ../shared/data] [--limit N]

1. 附件4 of the 2020 泰迪杯 (real citizen messages with government replies):
   each reply becomes an entry (title = 留言主题, answer = 答复意见; empty and
   duplicate replies dropped); each 留言详情 is a call description, whole and
   cut to 40 characters. MRR@10, Recall@1/@3 of its own entry, for Huiyin's
   ``suggest`` and, in the same run, for the plain approach (whoosh +
   ``jieba.analyse.ChineseAnalyzer``, BM25F, MultifieldParser over title and
   answer with OrGroup).
2. ``resources/sample/colloquial_eval.jsonl`` against the sample knowledge base:
   top-3 hit rate per kind (short searches use ``search``, the rest ``suggest``
   or ``search`` as fits the kind; ``expired`` must never be shown to agents).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from common import (
    DEFAULT_DATA_DIR,
    load_colloquial,
    load_replies,
    load_sample_entries,
    load_sample_synonyms,
    markdown_table,
    percentile,
)

from indexer import analysis
from indexer.index import SearchIndex
from kb.dto import EntryView

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
warnings.filterwarnings("ignore", message="invalid escape sequence")


def plain_index(path: Path, entries: Sequence[EntryView]) -> Callable[[str, int], list[int]]:
    """The reference: whoosh + jieba ChineseAnalyzer, default BM25F, title+answer OrGroup."""
    from jieba.analyse import ChineseAnalyzer
    from whoosh import fields, index, qparser

    analyzer = ChineseAnalyzer()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=analyzer),
        answer=fields.TEXT(analyzer=analyzer),
    )
    path.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(path), schema)
    with ix.writer(limitmb=256) as writer:
        for e in entries:
            writer.add_document(id=str(e.id), title=e.title, answer=e.answer)
    parser = qparser.MultifieldParser(["title", "answer"], schema, group=qparser.OrGroup)
    searcher = ix.searcher()

    def run(text: str, limit: int) -> list[int]:
        q = parser.parse(text)
        return [int(h["id"]) for h in searcher.search(q, limit=limit)]

    return run


def rank_metrics(ranked: Sequence[Sequence[int]], wanted: Sequence[int]) -> tuple[float, float, float]:
    mrr = r1 = r3 = 0.0
    for ids, want in zip(ranked, wanted, strict=True):
        ids = list(ids)[:10]
        if want in ids:
            k = ids.index(want)
            mrr += 1.0 / (k + 1)
            r1 += k == 0
            r3 += k < 3
    n = max(1, len(wanted))
    return mrr / n, r1 / n, r3 / n


def eval_real(data_dir: Path, limit: int | None, work: Path) -> str:
    pairs = load_replies(data_dir)
    if limit:
        pairs = pairs[:limit]
    entries = [e for e, _ in pairs]
    ix = SearchIndex.open(work / "huiyin")
    t0 = time.perf_counter()
    ix.rebuild(entries, revision=1)
    huiyin_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = plain_index(work / "plain", entries)
    plain_build = time.perf_counter() - t0

    rows = []
    for label, cut in (("whole description", None), ("first 40 characters", 40)):
        queries = [d[:cut] if cut else d for _, d in pairs]
        wanted = [e.id for e in entries]
        results: dict[str, tuple[list[list[int]], list[float]]] = {}
        for name, fn in (
            ("huiyin", lambda q: [h.id for h in ix.suggest(q, limit=10, audience="editor")]),
            ("plain", lambda q: plain(q, 10)),
        ):
            ranked, lat = [], []
            for q in queries:
                t = time.perf_counter()
                ranked.append(fn(q))
                lat.append((time.perf_counter() - t) * 1000)
            results[name] = (ranked, lat)
        hm = rank_metrics(results["huiyin"][0], wanted)
        pm = rank_metrics(results["plain"][0], wanted)
        rows.append(
            [
                label,
                len(queries),
                hm[0],
                hm[1],
                hm[2],
                pm[0],
                pm[1],
                pm[2],
                f"{hm[0] / pm[0]:.2f}×" if pm[0] else "-",
                f"{percentile(results['huiyin'][1], 50):.1f} / {percentile(results['huiyin'][1], 95):.1f}",
                f"{percentile(results['plain'][1], 50):.1f} / {percentile(results['plain'][1], 95):.1f}",
            ]
        )
    ix.close()
    header = [
        "query",
        "n",
        "MRR@10",
        "R@1",
        "R@3",
        "plain MRR@10",
        "plain R@1",
        "plain R@3",
        "MRR ratio",
        "huiyin ms p50/p95",
        "plain ms p50/p95",
    ]
    note = (
        f"\n\n{len(entries)} entries; build {huiyin_build:.1f} s (huiyin) vs {plain_build:.1f} s (plain)."
    )
    return markdown_table(header, rows) + note


def eval_colloquial(work: Path) -> str:
    entries = load_sample_entries()
    synonyms = load_sample_synonyms()
    cases = load_colloquial()
    by_ext = {e.external_id: e for e in entries}
    ix = SearchIndex.open(work / "sample")
    ix.rebuild(entries, revision=1)
    today = date.today()
    stats: dict[str, list[int]] = {}
    hidden_shown = 0
    failures: list[str] = []
    for case in cases:
        kind, query, expected = case["kind"], case["query"], case.get("expected", "")
        if kind == "call":
            hits = ix.suggest(query, limit=3, today=today, synonyms=synonyms)
        else:
            hits = ix.search(query, limit=3, today=today, synonyms=synonyms)
        got = [h.external_id for h in hits]
        hidden = [g for g in got if g in by_ext and not by_ext[g].visible_to_agents(today)]
        hidden_shown += len(hidden)
        # "expired": the query fits an expired version; the current one must be in the top 3
        # and the expired one (like any hidden entry) must never be shown.
        ok = expected in got and not hidden
        stats.setdefault(kind, [0, 0])
        stats[kind][0] += int(ok)
        stats[kind][1] += 1
        if not ok:
            failures.append(f"- {kind}: {query!r} → expected {expected}, got {got}")
    ix.close()
    rows = [[k, v[1], v[0], f"{100.0 * v[0] / v[1]:.0f} %"] for k, v in sorted(stats.items())]
    total = [sum(v[0] for v in stats.values()), sum(v[1] for v in stats.values())]
    rows.append(["all", total[1], total[0], f"{100.0 * total[0] / max(1, total[1]):.0f} %"])
    text = markdown_table(["kind", "cases", "top-3 hits", "rate"], rows)
    text += f"\n\nEntries not visible to agents (expired, future, draft, archived) shown: {hidden_shown}"
    text += f" (today = {today.isoformat()})."
    if failures:
        text += "\n\nMisses:\n" + "\n".join(failures[:40])
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N messages")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    analysis.load_jieba()
    with tempfile.TemporaryDirectory(prefix="huiyin-eval-") as tmp:
        work = Path(tmp)
        if not args.skip_real:
            print("## Real data: 泰迪杯 附件4 (call description → its own reply)\n")
            print(eval_real(args.data_dir.resolve(), args.limit, work), flush=True)
        print("\n## Colloquial test set (sample knowledge base)\n")
        print(eval_colloquial(work))


if __name__ == "__main__":
    main()
