"""Import speed: N entries (real titles and replies, replicated with variation) into SQLite and PostgreSQL.

    python bench/bench_import.py [--count 100000] [--data-dir ../shared/data] [--pg URL]

Writes a JSONL file of N entries built from the real 附件4 messages, times
``huiyin import`` end to end (reading, validation, versions, change log,
audit) on a fresh database, then times a re-import of the same file (every
row unchanged) and reports both.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kb.actor import Actor  # noqa: E402
from kb.exchange import import_file  # noqa: E402
from kb.service import KnowledgeBase  # noqa: E402

CATEGORIES = ["社会保障/养老保险", "医疗保障/医保报销", "住房公积金/提取", "城市管理/占道经营", "物业/物业服务",
              "生态环境/噪声", "交通/公共交通", "教育/入学", "供暖/供暖质量", "消费投诉/网购"]
IMPORT = Actor.system("import")  # the author the imported versions and the audit record


def real_pairs(data_dir: Path) -> list[tuple[str, str]]:
    path = data_dir / "raw/taidi2020c/fj4_messages_with_replies.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [(r["留言主题"], r["答复意见"]) for r in csv.DictReader(fh) if r["答复意见"].strip()]


def write_entries(path: Path, pairs: list[tuple[str, str]], count: int) -> None:
    rnd = random.Random(12345)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            title, answer = pairs[i % len(pairs)]
            copy = i // len(pairs)
            rec = {"external_id": f"B-{i:06d}", "title": f"{title}（{copy}）" if copy else title,
                   "answer": answer, "aliases": [title[: max(4, len(title) // 2)]],
                   "keywords": rnd.sample(["社保", "医保", "公积金", "物业", "噪声", "供暖", "交通"], 2),
                   "category": rnd.choice(CATEGORIES), "basis": "", "valid_from": "2025-01-01", "valid_to": "",
                   "status": "published"}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def run(url: str, path: Path, count: int) -> tuple[float, float]:
    kb = KnowledgeBase.open(url)
    t0 = time.perf_counter()
    r = import_file(kb, path, kind="entries", actor=IMPORT)
    first = time.perf_counter() - t0
    assert r.created == count, r
    t0 = time.perf_counter()
    r2 = import_file(kb, path, kind="entries", actor=IMPORT)
    again = time.perf_counter() - t0
    assert r2.unchanged == count, r2
    kb.close()
    return first, again


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--pg", default="", help="also PostgreSQL, e.g. postgresql+psycopg://postgres@127.0.0.1/bench")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "entries.jsonl"
        write_entries(path, real_pairs(args.data_dir), args.count)
        print("| database | entries | first import | entries/s | re-import (unchanged) |")
        print("|---|---|---|---|---|")
        targets = [("SQLite", f"sqlite:///{tmp}/bench.sqlite3")] + ([("PostgreSQL", args.pg)] if args.pg else [])
        for name, url in targets:
            first, again = run(url, path, args.count)
            print(f"| {name} | {args.count:,} | {first:.1f} s | {args.count / first:,.0f} | {again:.1f} s |",
                  flush=True)


if __name__ == "__main__":
    main()
