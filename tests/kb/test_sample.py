"""The shipped sample knowledge base is complete, consistent and loads cleanly."""

from __future__ import annotations

import json
from collections import Counter

from kb.alerts import AlertLexicon
from kb.resources import resource_path
from kb.sample import SAMPLE_FILES, load_sample, read_jsonl
from kb.service import KnowledgeBase


def test_sample_meets_the_brief(sqlite_kb: KnowledgeBase) -> None:
    results = {r.kind: r for r in load_sample(sqlite_kb)}
    stats = sqlite_kb.stats()
    assert stats.published >= 80 and stats.departments >= 40 and stats.scripts >= 15
    areas = {e.category.split("/")[0] for e in sqlite_kb.entries.find(status="published", limit=10_000)}
    assert len(areas) >= 12, areas
    kinds = Counter(s.kind for s in sqlite_kb.directory.scripts())
    assert {"greeting", "closing", "transfer", "soothing", "refusal"} <= set(kinds)
    emergency = " ".join(e.answer for e in sqlite_kb.entries.find(category="应急", limit=50))
    for number in ("110", "119", "120", "122"):
        assert number in emergency
    phones = " ".join(d.phone for d in sqlite_kb.directory.departments())
    for number in ("12333", "12315", "12369", "12348", "12329", "95598"):
        assert number in phones, number
    assert results["entries"].rows == stats.entries
    terms, kinds_rows = sqlite_kb.lexicons.alert_records()
    assert AlertLexicon.from_records(terms, kinds_rows).detect("楼道里一股臭鸡蛋味")


def test_sample_reload_is_a_no_op(sqlite_kb: KnowledgeBase) -> None:
    load_sample(sqlite_kb)
    rev = sqlite_kb.revision()
    again = {r.kind: r for r in load_sample(sqlite_kb)}
    assert again["entries"].created == 0 and again["entries"].updated == 0
    assert sqlite_kb.revision() == rev


def test_every_sample_file_exists_and_parses() -> None:
    for _, name in SAMPLE_FILES:
        assert read_jsonl(resource_path(f"sample/{name}"))
    for name in ("synonyms.tsv", "stopwords.txt", "alert_terms.jsonl", "alert_kinds.jsonl", "gazetteer.jsonl"):
        assert resource_path(f"sample/{name}").stat().st_size > 0
    assert resource_path("jieba/userdict.txt").stat().st_size > 0
    ids = {json.loads(x)["external_id"] for x in resource_path("sample/entries.jsonl").read_text("utf-8").split("\n")
           if x.strip()}
    for case in read_jsonl(resource_path("sample/colloquial_eval.jsonl")):
        assert case["expected"] in ids
