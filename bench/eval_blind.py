"""Quality on blind batches: text written by helpers who never saw the lexicons, synonyms or other batches.

Usage (from the repo root, with the project's venv)::

    python bench/eval_blind.py bench/data/blind/b1 [--misses]

A batch folder holds ``search_short.jsonl`` and ``pinyin.jsonl`` (``{"query", "expected"}``: what an
agent types in the search box), ``call.jsonl`` (``{"text", "expected"}``: a call description for the
suggestion pane) and ``alerts.csv`` (``text,expected_kind,split,note``; ``none`` for a benign call).
Answers are scored as "expected entry in the top 3" against the sample knowledge base; alerts as the
share of benign calls that raise any alert and the share of dangers whose expected kind is raised.

Which batches are for development and which are reported once as test batches is written in
``bench/data/blind/README.md``; a test batch's figures go to the README the first time it is run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench.common import load_sample_entries, load_sample_synonyms, markdown_table
from bench.eval_alerts import NONE, load_lexicon, read_phrases
from indexer import analysis
from indexer.index import SearchIndex

SEARCH_FILES = (("short", "search_short.jsonl"), ("pinyin", "pinyin.jsonl"), ("call", "call.jsonl"))


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def eval_answers(batch: Path, work: Path, misses: list[str]) -> list[list[object]]:
    entries = load_sample_entries()
    synonyms = load_sample_synonyms()
    ix = SearchIndex.open(work / "sample")
    ix.rebuild(entries, revision=1)
    today = date.today()
    rows: list[list[object]] = []
    try:
        for kind, name in SEARCH_FILES:
            path = batch / name
            if not path.is_file():
                continue
            cases = read_jsonl(path)
            hits = 0
            for case in cases:
                if kind == "call":
                    text = case["text"]
                    got = [h.external_id for h in ix.suggest(text, limit=3, today=today, synonyms=synonyms)]
                else:
                    text = case["query"]
                    got = [h.external_id for h in ix.search(text, limit=3, today=today, synonyms=synonyms)]
                if case["expected"] in got:
                    hits += 1
                else:
                    misses.append(f"- {kind}: {text!r} → expected {case['expected']}, got {got}")
            rows.append([kind, len(cases), hits, f"{hits / max(1, len(cases)):.3f}"])
    finally:
        ix.close()
    return rows


def eval_alerts(batch: Path, misses: list[str]) -> list[list[object]]:
    path = batch / "alerts.csv"
    if not path.is_file():
        return []
    lexicon = load_lexicon()
    phrases = read_phrases(path)
    benign = [p for p in phrases if p.expected == NONE]
    dangers = [p for p in phrases if p.expected != NONE]
    false_alarms = right_kind = 0
    for p in phrases:
        fired = frozenset(a.kind for a in lexicon.detect(p.text))
        if p.expected == NONE and fired:
            false_alarms += 1
            misses.append(f"- benign alerted {','.join(sorted(fired))}: {p.text}")
        elif p.expected != NONE:
            if p.expected in fired:
                right_kind += 1
            else:
                misses.append(f"- {p.expected} missed (got {','.join(sorted(fired)) or NONE}): {p.text}")
    return [["benign that alert (target ≤ 0.03)", len(benign), false_alarms,
             f"{false_alarms / max(1, len(benign)):.3f}"],
            ["dangers with the right kind (target ≥ 0.97)", len(dangers), right_kind,
             f"{right_kind / max(1, len(dangers)):.3f}"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("batch", type=Path, help="a folder under bench/data/blind/")
    parser.add_argument("--misses", action="store_true", help="list what went wrong (development batches only)")
    args = parser.parse_args(argv)
    if not args.batch.is_dir():
        parser.error(f"no such batch folder: {args.batch}")
    logging.basicConfig(level=logging.WARNING)
    analysis.load_jieba()
    misses: list[str] = []
    with tempfile.TemporaryDirectory(prefix="huiyin-blind-") as tmp:
        answer_rows = eval_answers(args.batch, Path(tmp), misses)
    alert_rows = eval_alerts(args.batch, misses)
    print(f"## Blind batch {args.batch.name}\n")
    print(markdown_table(["task (answers: top 3, target ≥ 0.92)", "cases", "hits", "rate"],
                         answer_rows + alert_rows))
    if args.misses and misses:
        print("\nMisses:\n" + "\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
