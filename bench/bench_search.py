"""Search speed at 10k and 100k entries (real 泰迪杯 text, replicated with variation).

Usage: .venv/bin/python bench/bench_search.py [--sizes 10000,100000] [--data-dir ../shared/data]

Per size, in a fresh process: build rate (entries/s, end to end with
segmentation, wall and CPU), index size, p50/p95 latency of search-box queries
(2–3 words of a title) and of call descriptions (the message text, ≤ 500
characters), peak memory; then, in another fresh process, start → first result
(import, jieba load, open index, one query). The plain approach (whoosh +
jieba ChineseAnalyzer, BM25F, MultifieldParser over title and answer with
OrGroup) is measured at 10k in the same run as the reference.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from common import (
    DEFAULT_DATA_DIR,
    REPO,
    markdown_table,
    peak_rss_mb,
    percentile,
    real_corpus,
    replicated_entries,
)

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
warnings.filterwarnings("ignore", message="invalid escape sequence")

N_QUERIES = 300
PLAIN_CALL_QUERIES = 80


def _queries(corpus: list[tuple[str, str, str]], seed: int = 3) -> tuple[list[str], list[str]]:
    from indexer import analysis

    rng = random.Random(seed)
    picks = [corpus[rng.randrange(len(corpus))] for _ in range(N_QUERIES)]
    box = []
    for title, _, _ in picks:
        words = [w for w in analysis.words_of(title) if len(w) > 1] or [title[:4]]
        k = min(len(words), rng.choice((2, 3)))
        box.append(" ".join(rng.sample(words, k)))
    calls = [detail[:500] for _, _, detail in picks]
    return box, calls


def _latencies(fn, queries: list[str]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for q in queries[:20]:  # warm caches
        fn(q)
    lat = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        lat.append((time.perf_counter() - t) * 1000)
    return percentile(lat, 50), percentile(lat, 95)


def run_one(size: int, data_dir: Path, index_dir: Path, plain: bool) -> dict[str, object]:
    from indexer import analysis
    from indexer.index import SearchIndex
    from indexer.schema import document

    analysis.load_jieba()
    corpus = real_corpus(data_dir)
    box, calls = _queries(corpus)
    out: dict[str, object] = {"size": size}
    entries = list(replicated_entries(corpus, size))
    # Analysis alone (jieba + pinyin), on a sample, to split the build time.
    sample = entries[:1000]
    t = time.process_time()
    for e in sample:
        document(e)
    out["analysis_per_s"] = len(sample) / (time.process_time() - t)

    ix = SearchIndex.open(index_dir)
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    ix.rebuild(entries, revision=1)
    out["build_s"] = time.perf_counter() - t_wall
    out["build_rate"] = size / out["build_s"]  # type: ignore[operator]
    out["build_rate_cpu"] = size / (time.process_time() - t_cpu)
    status = ix.status()
    out["size_mb"] = status.size_bytes / 1e6
    out["box"] = _latencies(lambda q: ix.search(q, limit=10), box)
    out["call"] = _latencies(lambda q: ix.suggest(q, limit=5), calls)
    # One saved entry: apply → searchable.
    e = entries[0]
    t = time.perf_counter()
    ix.apply([e], [], revision=2)
    ix.search(e.title, limit=1)
    out["apply_ms"] = (time.perf_counter() - t) * 1000
    ix.close()
    out["peak_mb"] = peak_rss_mb()

    if plain:
        from eval_search import plain_index

        t_wall = time.perf_counter()
        run = plain_index(index_dir.parent / "plain", entries)
        out["plain_build_rate"] = size / (time.perf_counter() - t_wall)
        out["plain_size_mb"] = sum(p.stat().st_size for p in (index_dir.parent / "plain").iterdir()) / 1e6
        out["plain_box"] = _latencies(lambda q: run(q, 10), box)
        # The plain approach takes seconds per call description: a sample is enough for its p50/p95.
        out["plain_call"] = _latencies(lambda q: run(q, 5), calls[:PLAIN_CALL_QUERIES])
    return out


_FIRST_RESULT = """
import time, sys, warnings
t0 = time.perf_counter()
warnings.filterwarnings("ignore")
sys.path.insert(0, {repo!r})
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from indexer import analysis
from indexer.index import SearchIndex
th = analysis.start_background_load(ThreadPoolExecutor(max_workers=1))
ix = SearchIndex.open(Path({path!r}))
hits = ix.search("物业 停车费", limit=10)
t1 = time.perf_counter()
hits2 = ix.suggest("小区物业乱收停车费，业委会没有开业主大会就定了收费标准", limit=5)
print(t1 - t0, time.perf_counter() - t0, len(hits), len(hits2))
"""


def first_result(index_dir: Path) -> tuple[float, float]:
    """Seconds from interpreter start to the first search result (and to the first suggestion)."""
    code = _FIRST_RESULT.format(repo=str(REPO), path=str(index_dir))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total = time.perf_counter() - t
    inner_search, inner_suggest, *_ = proc.stdout.split()
    startup = total - float(inner_suggest)  # interpreter start-up before our first line
    return startup + float(inner_search), startup + float(inner_suggest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.data_dir.resolve(), args.index_dir, args.plain)))
        return

    rows, plain_rows = [], []
    with tempfile.TemporaryDirectory(prefix="huiyin-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            index_dir = Path(tmp) / f"ix{size}"
            cmd = [sys.executable, __file__, "--one", str(size), "--index-dir", str(index_dir),
                   "--data-dir", str(args.data_dir)]
            if size == 10000:
                cmd.append("--plain")
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            fr = first_result(index_dir)
            rows.append([
                f"{size:,}", f"{r['build_rate']:.0f} ({r['build_rate_cpu']:.0f} CPU)", f"{r['analysis_per_s']:.0f}",
                f"{r['size_mb']:.0f}", f"{r['box'][0]:.1f} / {r['box'][1]:.1f}",
                f"{r['call'][0]:.1f} / {r['call'][1]:.1f}", f"{r['apply_ms']:.0f}",
                f"{fr[0]:.2f} / {fr[1]:.2f}", f"{r['peak_mb']:.0f}",
            ])
            if "plain_build_rate" in r:
                plain_rows.append([
                    f"{size:,}", f"{r['plain_build_rate']:.0f}", f"{r['plain_size_mb']:.0f}",
                    f"{r['plain_box'][0]:.1f} / {r['plain_box'][1]:.1f}",
                    f"{r['plain_call'][0]:.1f} / {r['plain_call'][1]:.1f}",
                    f"{r['plain_box'][1] / r['box'][1]:.1f}× / {r['plain_call'][1] / r['call'][1]:.1f}×",
                ])
            # Progress (a 100k run takes a while): the raw numbers as soon as they exist.
            print(f"done {size}: {json.dumps(r)} first_result={fr}", file=sys.stderr, flush=True)
    print(markdown_table(
        ["entries", "build entries/s (wall, CPU)", "analysis only /s", "index MB", "search box ms p50/p95",
         "call description ms p50/p95", "save→searchable ms", "start→first result s (search / suggest)",
         "peak RSS MB"], rows))
    print()
    print(markdown_table(
        ["plain approach", "build entries/s", "index MB", "search box ms p50/p95",
         f"call description ms p50/p95 (first {PLAIN_CALL_QUERIES})", "huiyin faster at p95 (box / call)"],
        plain_rows))


if __name__ == "__main__":
    main()
