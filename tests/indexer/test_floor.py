"""Issue #16 §5: below a relevance floor a query has no result (search box and suggested answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as wq

from indexer import query as planner
from indexer.index import SearchIndex
from kb.dto import EntryView
from tests.helpers import make_entry


def test_coverage_is_the_weighted_share_of_the_words_a_hit_matches() -> None:
    a, b, c = wq.Term("text", "a"), wq.Term("text", "b"), wq.Term("text", "c")
    present = {a: np.array([1.0, 0.0, 2.0]), b: np.array([0.0, 0.0, 1.0]), c: np.array([0.0, 3.0, 0.0])}
    plan = planner.Plan(words=[(a, 3.0), (b, 1.0), (c, 2.0), (None, 4.0)])  # None: a word no entry has
    matches = planner.scored_matches(present.__getitem__)
    assert planner.coverage(plan, [0, 1, 2], matches).tolist() == pytest.approx([0.3, 0.2, 0.4])
    plan.top_words = 2  # a call description: a share of its two most informative words (4 + 3)
    assert planner.coverage(plan, [2, 0, 1], matches).tolist() == pytest.approx([4 / 7, 3 / 7, 2 / 7])
    kept = planner.above_floor(plan, [(2, 9.0), (1, 8.0), (0, 7.0)], 0.4, matches)
    assert kept == [(2, 9.0), (0, 7.0)]


def test_postings_and_score_arrays_agree(index: SearchIndex) -> None:
    """The call description's cheap check (postings of a few documents) is the search box's (score arrays)."""
    state = index._state()
    reader, scorer = state.searcher.reader(), state.scorer
    assert scorer is not None
    plan = planner.plan_suggest(reader, "社保卡丢了想补办，暖气也不热，下水道还堵了", None)
    docs = list(range(reader.doc_count_all()))
    by_postings = planner.coverage(plan, docs, planner.posting_matches(reader))
    assert by_postings.tolist() == planner.coverage(plan, docs, planner.scored_matches(scorer.scores)).tolist()
    assert by_postings.max() > 0


def kb() -> list[EntryView]:
    return [
        make_entry(1, "社保卡丢失怎么补办", "社会保障卡丢失后，请先拨打服务电话挂失，再携带身份证到社保经办网点补办。",
                   aliases=("社保卡丢了",), keywords=("社会保障卡", "挂失")),
        make_entry(2, "居住证办理流程", "在本市居住满半年，有合法稳定就业或住所，可以申请办理居住证。"),
        make_entry(3, "暖气不热怎么办", "供暖期室温不达标，可以联系供热单位报修，不要自行拆改暖气。",
                   keywords=("供暖", "室温")),
        make_entry(4, "网购商品质量问题、不给退货怎么投诉",
                   "网购商品存在质量问题的，可以要求商家退货；买的东西坏了请保存凭证。",
                   aliases=("买的东西坏了不给退",)),
        make_entry(5, "下水道堵塞怎么办", "下水道堵塞请联系物业疏通，不要往下水道倒油。"),
    ]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    ix = SearchIndex.open(tmp_path / "index")
    ix.rebuild(kb(), revision=1)
    yield ix
    ix.close()


@pytest.mark.parametrize("text", ["不存在的东西随便说说", "构坐塞伤鼎摘侨瞒", "蔡瞒丢鼎侨"])
def test_nonsense_finds_nothing(index: SearchIndex, text: str) -> None:
    """The issue's query, and random strings that share a character or a vague word with an entry."""
    assert index.search(text, audience="editor") == []
    assert index.suggest(text, audience="editor") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("社保卡丢了", 1), ("居往证", 2), ("暖气不热", 3), ("网购的东西坏了不给退", 4), ("下水道堵了", 5),
     ("社保卡 比特币 区块链", None)],
)
def test_real_queries_still_find_their_entry(index: SearchIndex, text: str, expected: int | None) -> None:
    hits = index.search(text, audience="editor")
    if expected is None:  # two of three words the base has nothing on: not a result
        assert hits == []
    else:
        assert hits and hits[0].id == expected, [h.title for h in hits]


def test_call_descriptions_still_find_their_entry(index: SearchIndex) -> None:
    text = "喂，你好，我昨天坐公交把钱包丢了，里面有社保卡，明天还得去医院看病，这个卡怎么补办啊"
    hits = index.suggest(text, audience="editor")
    assert hits and hits[0].id == 1
    hits = index.suggest("我家从供暖开始暖气就一直不热，屋里才十五度，老人孩子都冻感冒了", audience="editor")
    assert hits and hits[0].id == 3
