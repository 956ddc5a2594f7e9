"""Suggestion latency and memory with 100k entries and 1M work orders of history.

    python bench/bench_suggest.py [--entries 100000] [--work-orders 1000000] [--queries 400]
                                  [--data-dir ../shared/data] [--workdir DIR] [--out FILE]

Setup (bulk paths, not the product's, to keep the setup in minutes):

* departments: the sample Beijing departments, the 16 district governments and
  the 177 real Guangdong departments; the sample routing rules and gazetteer;
* entries: ``--entries`` entries replicated with variation from the real 泰迪杯
  messages and replies (``bench/common.replicated_entries``), each owned by a
  department, indexed straight into the search index;
* work orders: ``--work-orders`` rows synthesised from the real messages
  (title + start of the detail; place names, numbers and sentence order varied),
  spread over the last 365 days, 200k distinct callers, a category (the real
  label where there is one) and a department per base message, 5 % returned;
  bulk-inserted into the ``work_order`` table.

Measured on the product path:

* **build** — ``WorkOrderHistory.catch_up(kb)`` reading every work order through
  ``KnowledgeBase.iter_work_orders`` and summarising it; the summary is saved;
* **load** — ``WorkOrderHistory.open`` + ``catch_up`` in a fresh object (read the file + catch up),
  then handed to ``Engine.open`` as the application's engine would open it;
* **suggest** — ``Engine.suggest`` (answers, departments, categories, alerts,
  repeat callers, similar open cases, deadline) for real message texts cut to 20,
  50 and 300 characters, with caller phone and address: p50 / p95 / max;
* memory — RSS before and after loading the history, peak RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import peak_rss_mb, percentile, read_csv, real_corpus, replicated_entries  # noqa: E402

from indexer import analysis  # noqa: E402
from indexer.engine import Engine  # noqa: E402
from indexer.history import FILE_NAME, WorkOrderHistory  # noqa: E402
from indexer.index import SearchIndex  # noqa: E402
from kb import models as m  # noqa: E402  (bulk insert for the setup only)
from kb.actor import Actor  # noqa: E402
from kb.exchange import import_rows  # noqa: E402
from kb.paths import AppPaths  # noqa: E402
from kb.resources import resource_path  # noqa: E402
from kb.service import KnowledgeBase  # noqa: E402
from tests.helpers import editor  # noqa: E402

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
NOW = datetime.now().replace(microsecond=0)
TAXONOMY = "raw/taidi2020c/fj1_category_taxonomy.csv"
LABELLED = "raw/taidi2020c/fj2_sample_labelled_messages.csv"
GD_DEPTS = "raw/gd_zwfw_items/gd_departments_derived.csv"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def setup_reference(kb: KnowledgeBase, data_dir: Path) -> None:
    depts = jsonl(resource_path("sample/departments.jsonl"))
    places = jsonl(resource_path("sample/gazetteer.jsonl"))
    districts = sorted({p["district"] for p in places})
    depts += [{"external_id": f"DIST-{i:02d}", "name": f"北京市{d}人民政府", "level": "district", "district": d,
               "phone": f"010-6{i:02d}00000"} for i, d in enumerate(districts)]
    gd = data_dir / GD_DEPTS
    if gd.is_file():
        for i, r in enumerate(read_csv(gd)):
            phone = re.search(r"0\d{2,3}-\d{7,8}|12\d{3}", r["consult_phones"])
            depts.append({"external_id": f"GD-{i:03d}", "name": r["DEPT_NAME"],
                          "phone": phone.group() if phone else ""})
    known = {d.get("external_id") or d["name"] for d in depts}
    depts = [d for d in depts if not d.get("parent") or d["parent"] in known]
    import_rows(kb, "departments", [(i + 1, d) for i, d in enumerate(depts)], actor=Actor.system("bench"))
    kb.lexicons.set_places(places, actor=editor("bench"))
    rules = jsonl(resource_path("sample/routing_rules.jsonl"))
    rules += [{"department": f"DIST-{i:02d}", "district": d, "priority": 40, "note": "职责不清，属地兜底"}
              for i, d in enumerate(districts)]
    import_rows(kb, "rules", [(i + 1, r) for i, r in enumerate(rules)], actor=Actor.system("bench"))
    terms, kinds = jsonl(resource_path("sample/alert_terms.jsonl")), jsonl(resource_path("sample/alert_kinds.jsonl"))
    kb.lexicons.set_alert_records(terms, kinds, actor=editor("bench"))


def messages(data_dir: Path) -> list[tuple[str, str]]:
    """(text, label or "") of every real message: title + newline + detail."""
    labels = {r["留言主题"].strip(): r["一级分类"].strip() for r in read_csv(data_dir / LABELLED)}
    out = []
    for title, _, detail in real_corpus(data_dir):
        out.append((title.strip() + "\n" + detail.strip(), labels.get(title.strip(), "")))
    return out


def synth_orders(base: Sequence[tuple[str, str]], n: int, dept_ids: Sequence[int], categories: Sequence[str],
                 places: Sequence[dict[str, Any]], seed: int = 11) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    streets = [p for p in places if p.get("street")]
    phones = [f"+86139{rng.randrange(10**8):08d}" for _ in range(200_000)]
    base_dept = [dept_ids[hash(t) % len(dept_ids)] for t, _ in base]
    base_cat = [label or categories[hash(t[:20]) % len(categories)] for t, label in base]
    for i in range(n):
        k = rng.randrange(len(base))
        text, _ = base[k]
        title, _, detail = text.partition("\n")
        detail = detail[:260]
        if i >= len(base):
            place = rng.choice(streets)
            title = re.sub(r"A\d区|A市|B市", place["district"], title, count=1)
            sentences = [s for s in re.split(r"(?<=[。！？，])", detail) if s]
            if len(sentences) > 2:
                head, rest = sentences[:1], sentences[1:]
                rng.shuffle(rest)
                detail = "".join(head + rest)
            detail = re.sub(r"\d+", lambda mm: str(int(mm.group()) + rng.randrange(9)), detail)
        else:
            place = rng.choice(streets)
        dept = base_dept[k] if rng.random() > 0.1 else rng.choice(dept_ids)
        returned = rng.random() < 0.05
        status = "returned" if returned else rng.choice(("closed", "closed", "closed", "dispatched"))
        yield {"id": str(uuid.UUID(int=rng.getrandbits(128))), "received_at": NOW - timedelta(
            seconds=rng.randrange(365 * 86400)), "phone": rng.choice(phones), "caller_name": "", "address": "",
            "district": place["district"], "street": place["street"], "request_type": "complaint",
            "urgency": "normal", "text": title + "\n" + detail, "category_id": None, "handling": "dispatched",
            "department_id": dept, "due_at": None, "entry_id": None, "status": status, "returned": returned,
            "seat": "", "created_by": "bench", "created_at": NOW, "updated_at": NOW, "closed_at": None,
            "_category": base_cat[k], "external_id": None}


def bulk_orders(kb: KnowledgeBase, rows: Iterator[dict[str, Any]], n: int) -> None:
    from sqlalchemy import insert, select

    with kb.store.unit() as uow:
        s = uow.s
        cat_ids: dict[str, int] = {}
        batch: list[dict[str, Any]] = []
        done = 0
        for r in rows:
            name = r.pop("_category")
            cid = cat_ids.get(name)
            if cid is None:
                cat = uow.category(name)
                assert cat is not None
                cid = cat_ids[name] = cat.id
            r["category_id"] = cid
            batch.append(r)
            if len(batch) >= 20_000:
                s.execute(insert(m.WorkOrder.__table__), batch)
                done += len(batch)
                batch = []
                print(f"  inserted {done:,}/{n:,}", file=sys.stderr, flush=True)
        if batch:
            s.execute(insert(m.WorkOrder.__table__), batch)
        assert s.scalar(select(m.WorkOrder.id).limit(1)) is not None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="suggest latency and memory at call-center scale")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--work-orders", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the databases here (reused when present)")
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = ap.parse_args(argv)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="huiyin-bench-suggest-")
        args.workdir = Path(tmp.name)
    paths = AppPaths(args.workdir).ensure()
    fresh = not paths.db_file.exists()
    kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}")
    analysis.set_cache_dir(paths.cache_dir)
    analysis.load_jieba()
    base = messages(args.data_dir)
    results: dict[str, Any] = {"entries": args.entries, "work_orders": args.work_orders}
    if fresh:
        t = time.perf_counter()
        setup_reference(kb, args.data_dir)
        dept_ids = [d.id for d in kb.directory.departments()]
        cats = sorted({r["一级分类"] for r in read_csv(args.data_dir / TAXONOMY)})
        places = jsonl(resource_path("sample/gazetteer.jsonl"))
        bulk_orders(kb, synth_orders(base, args.work_orders, dept_ids, cats, places), args.work_orders)
        results["setup_orders_s"] = time.perf_counter() - t
        print(f"work orders inserted in {results['setup_orders_s']:.0f} s", file=sys.stderr)
        t = time.perf_counter()
        index = SearchIndex.open(paths.index_dir)  # not Engine.open: that would open the history now
        corpus = real_corpus(args.data_dir)
        rng = random.Random(3)
        cats_by = [c for c in kb.entries.categories() if "/" not in c] or [""]
        entries = (dataclasses.replace(e, department_id=rng.choice(dept_ids), category=rng.choice(cats_by))
                   for e in replicated_entries(corpus, args.entries))
        index.rebuild(entries, kb.revision())
        index.close()
        results["setup_index_s"] = time.perf_counter() - t
        print(f"index built in {results['setup_index_s']:.0f} s", file=sys.stderr)

    # ---- build the history summary on the product path (iter_work_orders → add), then save
    hist_file = paths.index_dir / FILE_NAME
    if not hist_file.exists():
        gc.collect()
        r0 = rss_mb()
        t = time.perf_counter()
        h = WorkOrderHistory.open(hist_file)
        h.catch_up(kb, save_after=10**12)
        results["history_build_peak_rss_mb"] = peak_rss_mb()
        results["history_build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        h.save()
        results["history_save_s"] = time.perf_counter() - t
        results["history_build_rss_delta_mb"] = rss_mb() - r0
        del h
        gc.collect()
    results["history_file_mb"] = hist_file.stat().st_size / 1e6

    # ---- open as the application does
    gc.collect()
    rss0 = rss_mb()
    t = time.perf_counter()
    history = WorkOrderHistory.open(hist_file)
    history.catch_up(kb)
    results["history_load_s"] = time.perf_counter() - t
    results["history_rss_mb"] = rss_mb() - rss0
    results["history_orders"] = len(history)
    results["history_terms"] = history.vocabulary
    results["history_arrays_mb"] = history.memory_bytes() / 1e6
    t = time.perf_counter()
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench-background")
    engine = Engine.open(paths, kb, executor=background, sync=False, history=history)
    results["engine_open_s"] = time.perf_counter() - t
    print(json.dumps(results, default=str), file=sys.stderr)

    rng = random.Random(5)
    sample = rng.sample(base, min(args.queries, len(base)))
    places = [p for p in jsonl(resource_path("sample/gazetteer.jsonl")) if p.get("street")]
    with kb.store.session() as s:
        from sqlalchemy import select

        phones = list(s.scalars(select(m.WorkOrder.phone).limit(2000)))
    for text, _ in sample[:5]:  # warm up
        engine.suggest(text[:50])
    timings: dict[str, list[float]] = {"20": [], "50": [], "300": []}
    for i, (text, _) in enumerate(sample):
        place = places[i % len(places)]
        for cut in timings:
            t = time.perf_counter()
            engine.suggest(text[: int(cut)], address=f"{place['district']}{place['street']}",
                           phone=phones[i % len(phones)] if i % 2 else "", request_type="complaint")
            timings[cut].append((time.perf_counter() - t) * 1000)
    all_ms = [x for v in timings.values() for x in v]
    results["rss_after_mb"] = rss_mb()
    results["peak_rss_mb"] = peak_rss_mb()
    engine.close()
    background.shutdown(wait=True)
    kb.close()

    lines = ["| text | n | p50 ms | p95 ms | max ms |", "| --- | --- | --- | --- | --- |"]
    for cut, v in [*timings.items(), ("all", all_ms)]:
        label = cut if cut == "all" else f"first {cut} chars"
        lines.append(f"| {label} | {len(v)} | {percentile(v, 50):.1f} | {percentile(v, 95):.1f} | {max(v):.1f} |")
    lines += ["", "| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in results.items()]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(f"# suggest benchmark ({args.entries:,} entries, {args.work_orders:,} work orders)\n\n"
                            + table + "\n", encoding="utf-8")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
