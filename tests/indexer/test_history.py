"""The work-order history summary: decay, 退单 penalty, category votes, bounds, persistence."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from indexer.history import CAT_BASE, WorkOrderHistory, case_terms
from tests.indexer.test_routing import NOW, order


def test_case_terms_are_normalised_bigrams_with_the_first_line_weighted() -> None:
    v = case_terms("噪音扰民\n楼下酒吧")
    assert set(v) == {"噪音", "音扰", "扰民", "楼下", "下酒", "酒吧"}
    assert v["噪音"] == pytest.approx(3 * v["酒吧"])
    assert sum(x * x for x in v.values()) == pytest.approx(1.0)
    assert case_terms("") == {}


def test_recent_cases_count_more_than_old_ones() -> None:
    h = WorkOrderHistory(half_life_days=30)
    for i in range(5):  # a year ago: the water company handled leaks
        h.add(order(i, "小区水管漏水了没人修", dept_id=7, at=NOW - timedelta(days=365)))
    for i in range(5, 8):  # this month: the district took over
        h.add(order(i, "小区水管漏水了没人修", dept_id=8, at=NOW - timedelta(days=3)))
    ranked = h.departments("水管漏水", now=NOW)
    assert [c.key for c in ranked][:2] == [8, 7]
    assert ranked[0].support == pytest.approx(3 * 2 ** (-3 / 30), rel=1e-3)
    assert ranked[1].support < 0.01


def test_returned_cases_count_against_the_department() -> None:
    h = WorkOrderHistory()
    for i in range(4):
        h.add(order(i, "共享单车乱停乱放堵住路口", dept_id=1))
    for i in range(4, 7):
        h.add(order(i, "共享单车乱停乱放堵住路口", dept_id=2))
    assert [c.key for c in h.departments("共享单车乱停放")][:2] == [1, 2]
    for i in range(7, 10):  # dept 1 returned three cases like this
        h.add(order(i, "共享单车乱停乱放堵住路口", dept_id=1, returned=True))
    scores = {c.key: c.score for c in h.departments("共享单车乱停放")}
    assert scores[2] > scores[1]


def test_status_change_in_the_window_replaces_the_old_contribution() -> None:
    h = WorkOrderHistory()
    h.add(order(1, "路灯不亮了很久了", dept_id=5))
    assert h.departments("路灯不亮")[0].score > 0
    h.add(order(1, "路灯不亮了很久了", dept_id=5, returned=True))  # same id, now 退单
    assert len(h) == 1
    assert h.departments("路灯不亮")[0].score < 0


def test_category_votes() -> None:
    h = WorkOrderHistory()
    for i, (text, cat) in enumerate([("孩子入学学位不够", "教育文体"), ("幼儿园收费太高", "教育文体"),
                                     ("医保报销比例", "劳动和社会保障"), ("养老保险补缴", "劳动和社会保障"),
                                     ("公交车绕路", "交通运输")]):
        h.add(order(i, text, category=cat))
    top = h.categories_for("小孩入学的学位问题")
    assert h.category_name(top[0].key) == "教育文体" and top[0].key >= CAT_BASE
    assert "入学" in top[0].terms or "学位" in top[0].terms
    assert h.departments("小孩入学的学位问题") == []  # answered directly: no department evidence


def test_bounded_vocabulary_and_persistence(tmp_path: Path) -> None:
    h = WorkOrderHistory(max_terms=50, max_classes_per_term=2, recent_size=10)
    for i in range(60):
        h.add(order(i, f"第{i}号问题 噪音扰民 油烟 路灯{i % 7}", dept_id=1 + i % 5, category=f"类{i % 3}",
                    district="朝阳区", status="dispatched"))
    h.compact()
    assert h.vocabulary <= 50
    assert int(max(h._indptr[1:] - h._indptr[:-1])) <= 2
    path = h.save(tmp_path / "history.npz")
    loaded = WorkOrderHistory.load(path, max_terms=50, max_classes_per_term=2, recent_size=10)
    assert len(loaded) == 60 and loaded.high_water == NOW
    assert [c.key for c in loaded.departments("噪音扰民")] == [c.key for c in h.departments("噪音扰民")]
    assert len(loaded.similar("噪音扰民 油烟 路灯3", limit=10, min_similarity=0.1)) > 0
    with pytest.raises(ValueError):
        WorkOrderHistory.load(path, half_life_days=10)


def test_similar_open_cases_at_the_same_place() -> None:
    h = WorkOrderHistory()
    h.add(order(1, "小区垃圾站臭气熏天", dept_id=4, district="朝阳区", street="望京街道"))
    h.add(order(2, "小区垃圾站臭气熏天", dept_id=4, district="海淀区", street="中关村街道"))
    h.add(order(3, "小区垃圾站臭气熏天", dept_id=4, district="朝阳区", street="望京街道", status="closed"))
    found = h.similar("垃圾站很臭", district="朝阳区", street="望京街道", open_only=True, min_similarity=0.1)
    assert [c.id for c in found] == ["wo-1"]
    assert found[0].received_at == NOW and isinstance(found[0].received_at, datetime)
