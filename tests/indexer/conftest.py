"""Fixtures for the indexer tests (no Qt, no database): jieba loads once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from indexer import analysis
from indexer.index import SearchIndex
from kb.dto import EntryView
from tests.helpers import make_entry

TODAY = date(2026, 6, 1)


@pytest.fixture(scope="session", autouse=True)
def jieba_loaded(tmp_path_factory: pytest.TempPathFactory) -> None:
    analysis.set_cache_dir(tmp_path_factory.mktemp("jieba-cache"))
    analysis.load_jieba()


def small_kb() -> list[EntryView]:
    """A few hand-written entries covering the cases the tests need."""
    past, future = TODAY - timedelta(days=30), TODAY + timedelta(days=30)
    return [
        make_entry(1, "社保卡丢失怎么补办", "社会保障卡丢失后，请先拨打服务电话挂失，再携带身份证到社保经办网点补办。",
                   aliases=("社保卡丢了",), keywords=("社会保障卡", "挂失")),
        make_entry(2, "住房公积金提取条件", "职工租房、购房可以申请提取住房公积金，租房提取每月额度按规定执行。",
                   aliases=("公积金怎么取",)),
        make_entry(3, "居住证办理流程", "在本市居住满半年，有合法稳定就业或住所，可以申请办理居住证。"),
        make_entry(4, "暖气不热怎么办", "供暖期室温不达标，可以联系供热单位报修，城市管理部门负责监督。",
                   keywords=("供暖", "室温")),
        make_entry(5, "医疗保险报销比例", "城乡居民医疗保险住院报销比例按医院等级确定。", keywords=("医疗保险",)),
        make_entry(6, "12345热线受理范围（2024年版）", "12345热线受理咨询、求助、投诉、举报和建议。",
                   valid_from=date(2024, 1, 1), valid_to=past),
        make_entry(7, "12345热线受理范围", "12345热线受理咨询、求助、投诉、举报、建议和表扬。",
                   valid_from=past),
        make_entry(8, "2027年度新政策（未生效）", "新政策将于明年起施行，公积金提取额度调整。", valid_from=future),
        make_entry(9, "燃气费缴纳方式（草稿）", "燃气费可以在营业厅或网上缴纳。", status="draft"),
        make_entry(10, "景蓉华苑小区停车收费", "景蓉华苑业委会召开业主大会，制定停车收费标准。"),
    ]


@pytest.fixture
def kb_entries() -> list[EntryView]:
    return small_kb()


@pytest.fixture
def index(tmp_path: Path, kb_entries: list[EntryView]) -> Iterator[SearchIndex]:
    ix = SearchIndex.open(tmp_path / "index")
    ix.rebuild(kb_entries, revision=10)
    yield ix
    ix.close()
