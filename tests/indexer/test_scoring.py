"""The numpy scorer ranks exactly like whoosh's own BM25F searcher, on several segments with deletions."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import query as wq
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from indexer import query as planner
from indexer import scoring
from indexer.index import SearchIndex
from kb.dto import EntryView
from tests.helpers import make_entry

_TOPICS = [
    ("社保卡丢失补办", "社会保障卡丢失后请先挂失，再携带身份证到社保经办网点补办。"),
    ("公积金提取条件", "职工租房购房可以申请提取住房公积金，租房提取每月额度按规定执行。"),
    ("居住证办理", "在本市居住满半年，有合法稳定就业或住所，可以申请办理居住证。"),
    ("暖气不热报修", "供暖期室温不达标，可以联系供热单位报修，城市管理部门负责监督。"),
    ("医保报销比例", "城乡居民医疗保险住院报销比例按医院等级确定，门诊另有规定。"),
    ("小区停车收费", "业委会召开业主大会制定停车收费标准，物业不得擅自涨价。"),
    ("噪音扰民投诉", "夜间施工噪音扰民可以向城市管理部门投诉，环保部门负责监测。"),
    ("燃气费缴纳", "燃气费可以在营业厅、银行或网上缴纳，欠费会停气。"),
]


def _entries(n: int, seed: int) -> list[EntryView]:
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        title, answer = rng.choice(_TOPICS)
        other = rng.choice(_TOPICS)[1]
        text = answer + other * rng.randrange(0, 3)  # varied field lengths
        status = "draft" if i % 11 == 0 else "published"
        out.append(make_entry(i, f"{title}（{i}）", text, status=status))
    return out


@pytest.fixture
def segmented(tmp_path: Path) -> Any:
    """An index with a big rebuilt segment, small later segments, updates and deletes."""
    ix = SearchIndex.open(tmp_path / "ix")
    entries = _entries(120, seed=1)
    ix.rebuild(entries[:90], revision=1)
    ix.apply(entries[90:105], [], revision=2)
    ix.apply(entries[105:], [3, 17, 95], revision=3)
    changed = [make_entry(e.id, e.title + "更新", e.answer + "新增停车收费说明。") for e in entries[40:44]]
    ix.apply(changed, [], revision=4)
    yield ix
    ix.close()


def _reference(state: Any) -> Any:
    """Whoosh's own searcher over the same reader, with Huiyin's BM25F parameters."""
    weighting = BM25F(B=scoring.B, K1=scoring.K1)
    return Searcher(state.searcher.reader(), weighting=weighting, closereader=False)


def _whoosh_top(searcher: Any, q: Any, limit: int, mask: set[int] | None) -> list[tuple[int, float]]:
    # Every match, then the best: whoosh's own top-N collection can drop documents that tie with or
    # beat its cut-off when sub-matchers skip ahead (seen with And of Or groups), even with optimize=False.
    hits = searcher.search(q, limit=None, mask=mask)
    return [(h.docnum, round(h.score, 9)) for h in hits][:limit]


def _ours(scorer: scoring.Scorer, q: Any, limit: int, hidden: Any) -> list[tuple[int, float]]:
    return [(d, round(s, 9)) for d, s in scorer.top(q, limit, hidden)]


def test_several_segments_and_deletions(segmented: SearchIndex) -> None:
    state = segmented._state()
    assert len(list(state.searcher.reader().leaf_readers())) > 1
    assert state.scorer is not None and state.scorer.deleted.any()


@pytest.mark.parametrize(
    "text",
    [
        "社保卡丢了怎么办，要去哪里补办",
        "小区物业乱收停车费，业主大会没开",
        "晚上工地施工噪音太大，睡不着觉，想投诉",
        "燃气费欠费停气了，去银行营业厅能交吗",
    ],
)
def test_call_description_matches_whoosh(segmented: SearchIndex, text: str) -> None:
    state = segmented._state()
    searcher, scorer = _reference(state), state.scorer
    assert scorer is not None
    plan = planner.plan_suggest(searcher.reader(), text, None)
    assert not plan.empty
    hidden = segmented._agent_mask(state, date.today())
    for limit in (1, 5, 20):
        expected = _whoosh_top(searcher, plan.any_words, limit, set(np.flatnonzero(hidden).tolist()))
        assert _ours(scorer, plan.any_words, limit, hidden) == expected
    # Editors: no status filter, deleted documents still never come back.
    expected = _whoosh_top(searcher, plan.any_words, 50, None)
    assert _ours(scorer, plan.any_words, 50, None) == expected


@pytest.mark.parametrize("text", ["社保卡 补办", "停车 收费 物业", "shebaoka", "暖气 报修", "公基金"])
def test_search_box_trees_match_whoosh(segmented: SearchIndex, text: str) -> None:
    state = segmented._state()
    searcher, scorer = _reference(state), state.scorer
    assert scorer is not None
    plan = planner.plan_search(searcher.reader(), text, {"社保": ["社会保险"]})
    assert not plan.empty
    for q in (plan.all_words, plan.any_words):
        assert _ours(scorer, q, 10, None) == _whoosh_top(searcher, q, 10, None)


def test_boosted_compound_queries(segmented: SearchIndex) -> None:
    state = segmented._state()
    searcher, scorer = _reference(state), state.scorer
    assert scorer is not None
    q = wq.Or(
        [
            wq.And([wq.Term("text", "停车", boost=0.7), wq.Term("text", "收费", boost=1.3)], boost=2.0),
            wq.Term("text", "噪音", boost=0.4),
            wq.Or([wq.Term("text", "补办"), wq.Term("text", "不存在的词")], boost=0.5),
        ]
    )
    assert _ours(scorer, q, 30, None) == _whoosh_top(searcher, q, 30, None)


def test_block_reader_equals_public_matcher_api(segmented: SearchIndex) -> None:
    state = segmented._state()
    for segreader, _ in state.searcher.reader().leaf_readers():
        for term in ("停车", "社保卡", "补办", "供暖"):
            if not segreader.doc_frequency("text", term):
                continue
            fast_ids, fast_tf = scoring._postings(segreader, "text", term)
            live = ~np.isin(fast_ids, list(segreader.deleted_docs_set))  # the public API skips deleted ones
            slow_ids, slow_tf = scoring._matcher_postings(segreader.postings("text", term))
            assert fast_ids[live].tolist() == slow_ids.tolist()
            assert fast_tf[live].tolist() == slow_tf.tolist()


def test_lengths_equal_whoosh_doc_field_length(segmented: SearchIndex) -> None:
    state = segmented._state()
    for segreader, _ in state.searcher.reader().leaf_readers():
        lengths = scoring._read_lengths(segreader, "text")
        expected = [segreader.doc_field_length(d, "text", 0) for d in range(segreader.doc_count_all())]
        assert lengths.tolist() == expected


def test_empty_index(tmp_path: Path) -> None:
    with SearchIndex.open(tmp_path / "empty") as ix:
        assert ix.search("社保卡") == []
        assert ix.suggest("社保卡丢了怎么补办，去哪里办理") == []
