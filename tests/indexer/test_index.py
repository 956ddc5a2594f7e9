from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.errors import IndexCorrupt
from indexer.index import SearchIndex
from kb.dto import EntryView
from tests.indexer.conftest import TODAY, small_kb

SYN = {"社保": ["社会保险"], "医保": ["医疗保险"], "暖气": ["供暖"], "城管": ["城市管理"]}


def ids(hits: list) -> list[int]:  # type: ignore[type-arg]
    return [h.id for h in hits]


def test_search_box_all_words_first(index: SearchIndex) -> None:
    hits = index.search("公积金 提取", today=TODAY)
    assert hits[0].id == 2


def test_synonyms_apply_at_query_time(index: SearchIndex) -> None:
    hits = index.search("医保报销", today=TODAY, synonyms=SYN)
    assert hits and hits[0].id == 5
    # A new synonym works without reindexing.
    assert 4 in ids(index.search("暖和气儿", today=TODAY, synonyms={"暖和气儿": ["供暖"]}))


@pytest.mark.parametrize(
    ("query", "expected"),
    [("sbk", 1), ("gjj tiqu", 2), ("shebaoka", 1), ("公基金提取", 2), ("医宝报销", 5), ("居往证", 3)],
)
def test_pinyin_and_typos(index: SearchIndex, query: str, expected: int) -> None:
    assert expected in ids(index.search(query, today=TODAY, limit=3))


def test_traditional_query(index: SearchIndex) -> None:
    assert ids(index.search("居住證辦理", today=TODAY))[0] == 3


def test_single_character_and_unknown_word(index: SearchIndex) -> None:
    assert 4 in ids(index.search("暖", today=TODAY))
    assert ids(index.search("蓉华苑", today=TODAY))[0] == 10


def test_agents_never_see_hidden_entries(index: SearchIndex) -> None:
    agent = ids(index.search("12345 热线", today=TODAY))
    assert 7 in agent and 6 not in agent  # expired version hidden
    assert 8 not in ids(index.search("新政策", today=TODAY))  # not valid yet
    assert 9 not in ids(index.search("燃气费", today=TODAY))  # draft
    editor = index.search("12345 热线", today=TODAY, audience="editor")
    assert {6, 7} <= set(ids(editor))
    draft = [h for h in index.search("燃气费", audience="editor", today=TODAY) if h.id == 9]
    assert draft and draft[0].status == "draft"
    # Validity follows the date, not an edit: the future entry appears once its day comes.
    assert 8 in ids(index.search("新政策", today=TODAY.replace(year=TODAY.year + 1)))


def test_entries_with_future_end_date_are_visible(index: SearchIndex, kb_entries: list[EntryView]) -> None:
    bounded = replace(kb_entries[3], valid_from=TODAY.replace(year=2020), valid_to=TODAY.replace(year=2030))
    index.apply([bounded], [], revision=11)
    assert 4 in ids(index.search("暖气", today=TODAY))
    assert 4 not in ids(index.search("暖气", today=TODAY.replace(year=2031)))


def test_suggest_from_call_description(index: SearchIndex) -> None:
    text = "喂你好，我那个社保卡昨天在公交上丢了，里面还有钱，我想问一下现在该怎么办，要去哪里补办"
    hits = index.suggest(text, today=TODAY, synonyms=SYN)
    assert hits[0].id == 1
    assert "社保卡" in hits[0].matched


def test_snippet_marks_matches(index: SearchIndex) -> None:
    hit = index.search("居住证", today=TODAY)[0]
    assert "【居住证】" in hit.snippet
    assert hit.matched[0] == "居住证"
    assert hit.external_id == "E-00003"


def test_apply_and_delete_within_a_second(index: SearchIndex, kb_entries: list[EntryView]) -> None:
    new = replace(
        kb_entries[0], id=42, external_id="E-00042", title="电动自行车上牌", answer="新购电动自行车需登记上牌。"
    )
    start = time.perf_counter()
    index.apply([new], [], revision=11)
    assert ids(index.search("电动自行车", today=TODAY)) == [42]
    assert time.perf_counter() - start < 1.0  # one saved entry: searchable within a second
    start = time.perf_counter()
    index.apply([], [42], revision=12)
    assert ids(index.search("电动自行车", today=TODAY)) == []
    archived = replace(kb_entries[2], status="archived", revision=2)
    index.apply([archived], [], revision=13)
    assert 3 not in ids(index.search("居住证", today=TODAY))
    assert time.perf_counter() - start < 2.0  # a delete and an archive
    assert index.revision == 13
    assert index.status().entries == len(kb_entries)


def test_revision_never_goes_back(index: SearchIndex) -> None:
    index.apply([], [], revision=5)
    assert index.revision == 10


def test_rebuild_is_atomic_while_searching(tmp_path: Path) -> None:
    ix = SearchIndex.open(tmp_path / "ix")
    base = small_kb()
    ix.rebuild(base, revision=1)
    errors: list[BaseException] = []
    empty_results = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal empty_results
        try:
            while not stop.is_set():
                if not ix.search("居住证", today=TODAY):
                    empty_results += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for rev in range(2, 5):
            bulk = base + [
                replace(base[0], id=100 + i, external_id=f"X{i}", title=f"批量条目{i}", answer="批量导入的条目")
                for i in range(150)
            ]
            ix.rebuild(bulk, revision=rev)
            ix.apply([replace(base[1], revision=rev)], [], revision=rev)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert empty_results == 0
    assert ix.revision == 4
    assert ix.status().entries == len(base) + 150
    assert len([p for p in (tmp_path / "ix").iterdir() if p.name.startswith("gen-")]) == 1
    ix.close()


def test_apply_during_rebuild_is_not_lost(tmp_path: Path) -> None:
    ix = SearchIndex.open(tmp_path / "ix")
    base = small_kb()
    started, resume = threading.Event(), threading.Event()

    def slow_entries() -> Iterator[EntryView]:
        for i, e in enumerate(base):
            if i == 3:  # the rebuild is half-way until the test says so
                started.set()
                assert resume.wait(10)
            yield e

    t = threading.Thread(target=ix.rebuild, args=(slow_entries(), 5))
    t.start()
    assert started.wait(5)
    late = replace(base[0], id=77, external_id="E-77", title="无障碍设施改造", answer="无障碍设施改造申请。")
    ix.apply([late], [], revision=6)
    assert ids(ix.search("无障碍", today=TODAY)) == [77]  # visible at once in the old generation
    assert t.is_alive()  # still rebuilding: the apply went to the old generation and is replayed
    resume.set()
    t.join()
    assert ids(ix.search("无障碍", today=TODAY)) == [77]  # and replayed onto the new one
    assert ix.revision == 6
    ix.close()


def test_reopen_keeps_revision_and_entries(index: SearchIndex, tmp_path: Path) -> None:
    index.close()
    again = SearchIndex.open(tmp_path / "index")
    assert again.revision == 10
    assert again.status().entries == len(small_kb())
    assert again.status().size_bytes > 0
    again.close()


def test_corrupt_index_is_detected(index: SearchIndex, tmp_path: Path) -> None:
    index.close()
    root = tmp_path / "index"
    gen = root / (root / "CURRENT").read_text().strip()
    for f in gen.iterdir():
        if f.suffix in (".seg", ".toc") or f.name.endswith(".trm"):
            f.write_bytes(b"garbage" * 10)
    with pytest.raises(IndexCorrupt):
        SearchIndex.open(root)
    fresh = SearchIndex.reset(root)
    assert fresh.revision == 0
    fresh.rebuild(small_kb(), revision=3)
    assert ids(fresh.search("居住证", today=TODAY))[0] == 3
    fresh.close()


def test_missing_pointer_with_generations_is_corrupt(index: SearchIndex, tmp_path: Path) -> None:
    index.close()
    (tmp_path / "index" / "CURRENT").unlink()
    with pytest.raises(IndexCorrupt):
        SearchIndex.open(tmp_path / "index")


def test_missing_index_is_created(tmp_path: Path) -> None:
    ix = SearchIndex.open(tmp_path / "new")
    assert ix.revision == 0 and ix.status().entries == 0
    assert ix.search("居住证") == []
    ix.close()
