"""Gazetteer: districts and streets from addresses and call descriptions."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kb.errors import ImportRejected
from kb.place import Gazetteer, Place

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample" / "gazetteer.jsonl"
DISTRICTS = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip
CENTRAL = ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区")


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_jsonl(SAMPLE)


# --------------------------------------------------------------- sample data


def test_sample_has_all_districts_and_enough_streets(gaz: Gazetteer) -> None:
    records = gaz.records()
    districts = [str(r["district"]) for r in records if r["street"] == ""]
    assert sorted(districts) == sorted(DISTRICTS)
    streets = Counter(r["district"] for r in records if r["street"])
    assert set(streets) == set(DISTRICTS)
    for district in CENTRAL:
        assert streets[district] >= 8, district


def test_sample_streets_of_dongcheng(gaz: Gazetteer) -> None:
    streets = {r["street"] for r in gaz.records() if r["district"] == "东城区"}
    for name in ("东华门", "景山", "交道口", "安定门", "北新桥", "东四", "朝阳门", "建国门", "东直门",
                 "和平里", "前门", "崇文门外", "东花市", "龙潭", "体育馆路", "天坛", "永定门外"):  # fmt: skip
        assert f"{name}街道" in streets


def test_records_round_trip(gaz: Gazetteer) -> None:
    records = gaz.records()
    assert Gazetteer(records).records() == records
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert records == lines


# ------------------------------------------------------------------- locate


@pytest.mark.parametrize(
    ("text", "district", "street", "matched"),
    [
        ("朝阳区三里屯街道", "朝阳区", "三里屯街道", "朝阳区三里屯街道"),
        ("北京市朝阳区三里屯街道工体北路8号", "朝阳区", "三里屯街道", "朝阳区三里屯街道"),
        ("朝阳三里屯", "朝阳区", "三里屯街道", "朝阳三里屯"),
        ("海淀 中关村", "海淀区", "中关村街道", "海淀 中关村"),
        ("东城区东四", "东城区", "东四街道", "东城区东四"),
        ("西城区新街口街道", "西城区", "新街口街道", "西城区新街口街道"),
        ("大兴区", "大兴区", None, "大兴区"),
        ("家住延庆县", "延庆区", None, "延庆县"),  # the pre-2015 name
        ("宣武区牛街", "西城区", "牛街街道", "宣武区牛街"),  # old district name merged into 西城
        ("通州宋庄", "通州区", "宋庄镇", "通州宋庄"),
        ("平谷区大兴庄镇", "平谷区", "大兴庄镇", "平谷区大兴庄镇"),  # not 大兴区
    ],
)
def test_full_and_short_forms(
    gaz: Gazetteer, text: str, district: str, street: str | None, matched: str
) -> None:
    assert gaz.locate(text) == Place(district, street, matched)


@pytest.mark.parametrize(
    ("text", "district", "street"),
    [
        ("望京那边有人占道经营", "朝阳区", "望京街道"),
        ("中关村大街附近", "海淀区", "中关村街道"),
        ("回龙观的小区", "昌平区", "回龙观街道"),
        ("住在潘家园", "朝阳区", "潘家园街道"),
        ("来广营乡", "朝阳区", "来广营地区"),
        ("丰台街道", "丰台区", "丰台街道"),  # a street named after its district
        ("海淀街道", "海淀区", "海淀街道"),
    ],
)
def test_street_without_district_infers_it(gaz: Gazetteer, text: str, district: str, street: str) -> None:
    place = gaz.locate(text)
    assert (place.district, place.street) == (district, street)


def test_longest_match_keeps_chaoyangmen_in_dongcheng(gaz: Gazetteer) -> None:
    assert gaz.locate("朝阳门内大街") == Place("东城区", "朝阳门街道", "朝阳门")
    assert gaz.locate("东城区朝阳门内大街") == Place("东城区", "朝阳门街道", "东城区朝阳门")
    assert gaz.locate("朝阳门外大街") == Place("朝阳区", "朝外街道", "朝阳门外")
    assert gaz.locate("建国门外大街") == Place("朝阳区", "建外街道", "建国门外")


def test_no_match_inside_longer_names(gaz: Gazetteer) -> None:
    assert gaz.locate("石景山游乐园") == Place("石景山区", None, "石景山")  # not 景山 of 东城
    assert gaz.locate("东四环中路") == Place(None, None, "")  # a ring road, not 东四
    assert gaz.locate("大兴安岭来的游客") == Place(None, None, "")  # not 大兴区
    assert gaz.locate("张镇长说") == Place(None, None, "")  # Mayor Zhang, not 张镇


def test_common_words_are_not_streets(gaz: Gazetteer) -> None:
    assert gaz.locate("小区前门堆放垃圾") == Place(None, None, "")  # 前门 only as 前门街道
    assert gaz.locate("住在平房里") == Place(None, None, "")
    assert gaz.locate("前门街道") == Place("东城区", "前门街道", "前门街道")


def test_ambiguous_street_without_district(gaz: Gazetteer) -> None:
    # 八里庄街道 exists in 朝阳区 and 海淀区.
    assert gaz.locate("八里庄") == Place(None, "八里庄街道", "八里庄")


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("朝阳八里庄", "朝阳区"),
        ("海淀区八里庄", "海淀区"),
        ("八里庄，属于海淀", "海淀区"),
    ],
)
def test_ambiguous_street_with_district(gaz: Gazetteer, text: str, district: str) -> None:
    place = gaz.locate(text)
    assert (place.district, place.street) == (district, "八里庄街道")


def test_alias_shared_by_two_streets_of_one_district(gaz: Gazetteer) -> None:
    # 天通苑北街道 and 天通苑南街道 are both in 昌平区.
    assert gaz.locate("天通苑") == Place("昌平区", None, "天通苑")
    assert gaz.locate("天通苑北二区") == Place("昌平区", "天通苑北街道", "天通苑北")


def test_mentioned_district_beats_a_street_of_another(gaz: Gazetteer) -> None:
    assert gaz.locate("海淀区某小区，三里屯那边的人来摆摊") == Place("海淀区", None, "海淀区")


def test_nearest_district_and_street_pair(gaz: Gazetteer) -> None:
    text = "我住朝阳区八里庄，单位在海淀区中关村"
    assert gaz.locate(text) == Place("朝阳区", "八里庄街道", "朝阳区八里庄")
    text = "从朝阳区搬到了海淀区中关村"
    assert gaz.locate(text) == Place("海淀区", "中关村街道", "海淀区中关村")


def test_first_unambiguous_street_wins_without_district(gaz: Gazetteer) -> None:
    assert gaz.locate("从八里庄到三里屯再到中关村") == Place("朝阳区", "三里屯街道", "三里屯")


def test_nothing_found(gaz: Gazetteer) -> None:
    assert gaz.locate("") == Place(None, None, "")
    assert gaz.locate("来电人反映物业不作为") == Place(None, None, "")


def test_full_width_and_spaces(gaz: Gazetteer) -> None:
    assert gaz.locate("海淀　中关村") == Place("海淀区", "中关村街道", "海淀 中关村")


# ------------------------------------------------------------ custom data


def _small() -> list[dict[str, object]]:
    return [
        {"district": "甲区", "street": "", "aliases": ["甲城"]},
        {"district": "乙区", "street": "", "aliases": []},
        {"district": "甲区", "street": "同名街道", "aliases": ["同名"]},
        {"district": "乙区", "street": "同名街道", "aliases": ["同名"]},
        {"district": "甲区", "street": "东风地区", "aliases": ["东风"]},
        {"district": "乙区", "street": "东风街道", "aliases": ["东风"]},
    ]


def test_custom_ambiguity_rules() -> None:
    gaz = Gazetteer(_small(), blockers=())
    assert gaz.locate("同名") == Place(None, "同名街道", "同名")
    assert gaz.locate("乙区同名") == Place("乙区", "同名街道", "乙区同名")
    # Same alias, different street names in different districts: nothing certain.
    assert gaz.locate("东风") == Place(None, None, "东风")
    assert gaz.locate("甲城东风") == Place("甲区", "东风地区", "甲城东风")


def test_custom_blockers() -> None:
    gaz = Gazetteer(_small(), blockers=["东风汽车"])
    assert gaz.locate("东风汽车") == Place(None, None, "")
    assert gaz.blockers == ("东风汽车",)


def test_aliases_may_be_one_spreadsheet_cell() -> None:
    gaz = Gazetteer([{"district": "朝阳区", "street": "三里屯街道", "aliases": "三里屯；三里屯地区"}])
    assert gaz.records() == [
        {"district": "朝阳区", "street": "三里屯街道", "aliases": ["三里屯", "三里屯地区"]}
    ]
    assert gaz.locate("三里屯地区") == Place("朝阳区", "三里屯街道", "三里屯地区")


def test_empty_gazetteer() -> None:
    assert Gazetteer([]).locate("朝阳区") == Place(None, None, "")


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"street": "三里屯街道", "aliases": []}, "district"),
        ({"district": "  ", "street": "", "aliases": []}, "district"),
        ({"district": "朝阳区", "street": 5, "aliases": []}, "street"),
        ({"district": "朝阳区", "street": "三里屯街道", "aliases": ["三"]}, "aliases"),
        ({"district": "朝阳区", "street": "三里屯街道", "aliases": 3}, "aliases"),
        ({"district": "朝阳区", "street": "三里屯街道", "aliases": [], "city": "北京"}, "city"),
        ({"district": "海淀区", "street": "", "aliases": []}, "district"),  # duplicate of record 1
    ],
)
def test_bad_records_name_the_field(record: dict[str, object], field: str) -> None:
    with pytest.raises(ImportRejected) as info:
        Gazetteer([{"district": "海淀区", "street": "", "aliases": ["海淀"]}, record])
    assert [(e.row, e.field) for e in info.value.errors] == [(2, field)]


def test_bad_jsonl_line(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"district": "海淀区", "street": "", "aliases": []}\n\n{oops\n', encoding="utf-8")
    with pytest.raises(ImportRejected) as info:
        Gazetteer.from_jsonl(path)
    assert [(e.row, e.field) for e in info.value.errors] == [(3, "*")]
