"""Issue #16 §5: department reasons quote whole, meaningful words, and stop words or fragments never
count as evidence (in the score, not only in the reason shown)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from indexer import analysis
from indexer.hits import SearchHit
from indexer.routing import DepartmentProfiles, Router, _join_grams, caller_grams, caller_words
from kb.dto import DepartmentView, EntryView
from kb.place import Place

NOW = datetime(2026, 11, 28, 10, 0)
NOWHERE = Place(None, None, "")


def dept(i: int, name: str, *, duties: str = "", short_name: str = "") -> DepartmentView:
    return DepartmentView(id=i, external_id=f"D-{i}", name=name, short_name=short_name, level="city",
                          parent_external_id="", district="", duties=duties, phone="", duty_phone="",
                          transfer_phone="", hours="", address="", last_verified=date(2026, 1, 1), active=True,
                          revision=1, updated_at=NOW)


def entry(i: int, title: str, dept_id: int, *, aliases: tuple[str, ...] = ()) -> EntryView:
    return EntryView(id=i, external_id=f"E-{i}", title=title, answer="", aliases=aliases, keywords=(), category="",
                     department_id=dept_id, department_external_id="", department_name="", basis="",
                     valid_from=None, valid_to=None, status="published", revision=1, created_at=NOW, created_by="t",
                     updated_at=NOW, updated_by="t")


# The sample's traffic police and fire brigade (resources/sample/departments.jsonl), and departments whose
# entries share only a character or a filler word with the callers below.
TRAFFIC, FIRE, HOUSING, SOCIAL, SERVICE = 1, 2, 3, 4, 5
DEPTS = [
    dept(TRAFFIC, "北京市公安局公安交通管理局", short_name="交管局",
         duties="负责本市道路交通安全管理和交通秩序维护；处理交通事故和交通违法行为；负责机动车、驾驶人管理及外埠车辆进京通行管理。"),
    dept(FIRE, "北京市消防救援总队", short_name="消防总队",
         duties="负责本市火灾扑救和抢险救援工作；承担燃气泄漏、电梯困人等应急救援；负责消防监督检查，受理火灾隐患（如堵塞消防通道）举报。"),
    dept(HOUSING, "北京市住房和城乡建设委员会", duties="负责住房保障、房屋安全和物业管理监督。"),
    dept(SOCIAL, "北京市社会保险基金管理中心", duties="负责社会保险经办。"),
    dept(SERVICE, "北京市政务服务和数据管理局", duties="负责12345热线。"),
]
ENTRIES = [
    entry(1, "发生交通事故（转122）", TRAFFIC, aliases=("电动车撞人", "机动车剐蹭")),
    entry(2, "机动车违停怎么举报", TRAFFIC),
    entry(3, "消防通道被占用、堵塞怎么办", FIRE, aliases=("楼道堆杂物", "楼道里电动车充电")),
    entry(4, "电动车在楼道充电谁来管", FIRE),
    entry(5, "老楼加装电梯要业主同意吗", HOUSING, aliases=("有人不同意加装电梯",)),
    entry(6, "失业金领取要本人同意吗", SOCIAL),
    entry(7, "我的诉求怎么查进度", SERVICE, aliases=("我想问一下处理结果",)),
]

FRAGMENT_QUOTES = ("「动车」", "「人管」", "「管」", "「意」", "「我」", "「的」", "「一下」", "「我家」", "「有人」",
                   "「管吗」")


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(DEPTS, [], profiles=DepartmentProfiles(ENTRIES))


def quoted(reasons: tuple[str, ...]) -> list[str]:
    return [q for r in reasons for q in re.findall(r"「([^」]*)」", r)]


def test_caller_grams_are_words_not_fragments() -> None:
    grams = caller_grams("楼道里有人给电动车充电")
    assert {"楼道", "电动", "充电"} <= grams
    assert not grams & {"动车", "有人", "道里", "人给", "车充"}  # inside a word but not a word of it; a stop word
    assert caller_grams("有意见") == {"意见"}  # never a single character
    assert not caller_grams("小区门口的路灯坏了我想问问有人管吗") & {"人管", "管吗", "的路", "问有"}
    assert caller_grams("我对处理结果不满意") >= {"处理", "结果", "满意"}
    assert caller_grams("一下我家") == set()  # stop words
    assert "动车" not in caller_words("电动车") and "电动车" in caller_words("电动车")
    assert analysis.word_parts("电动车") == ("电动", "车")


def test_an_e_bike_in_the_stairwell_goes_to_the_fire_brigade_not_the_traffic_police(router: Router) -> None:
    for text in ("楼道里有人给电动车充电", "楼道里电动车充电有人管吗"):
        r = router.route(text, NOWHERE, [])
        assert r.departments[0].id == FIRE, text
        traffic = next((d for d in r.departments if d.id == TRAFFIC), None)
        # 机动车 in the traffic police's duties is no evidence for 电动车: no score from the duties
        assert traffic is None or not any(x.startswith("职责") for x in traffic.reasons), text
        for d in r.departments:
            assert not any(f in x for x in d.reasons for f in FRAGMENT_QUOTES), (text, d.name, d.reasons)


def test_the_duties_count_only_whole_words_of_the_caller(router: Router) -> None:
    names, duties = router._names.match("楼道里有人给电动车充电")
    assert TRAFFIC not in duties and TRAFFIC not in names
    # said in full, a word the duties have counts in full
    names, duties = router._names.match("小区门口有辆机动车违停")
    assert TRAFFIC in duties and "机动车" in _join_grams("小区门口有辆机动车违停", duties[TRAFFIC][1])


@pytest.mark.parametrize("text", ["有意见", "我对处理结果不满意", "我想反映一下我们小区的问题",
                                  "小区门口的路灯坏了我想问问有人管吗", "我家暖气不热"])
def test_filler_and_single_characters_give_no_score(router: Router, text: str) -> None:
    r = router.route(text, NOWHERE, [])
    for d in r.departments:
        assert not any(f in x for x in d.reasons for f in FRAGMENT_QUOTES), (text, d.name, d.reasons)
        words = set(caller_grams(text)) | set(caller_words(text))
        for q in quoted(d.reasons):
            assert all(part in words for part in q.split("、")), (text, d.name, q)
    if text == "有意见":  # 同意 shares 意 with 意见, not a word: the housing and social insurance bodies get nothing
        assert not {d.id for d in r.departments} & {HOUSING, SOCIAL}


def test_join_grams_never_shows_a_fragment() -> None:
    assert _join_grams("有人管吗", ["人管"]) == ""
    assert _join_grams("楼道里有人给电动车充电", ["动车"]) == ""
    assert _join_grams("楼道里有人给电动车充电", ["电动", "动车"]) == "电动车"
    assert _join_grams("我家暖气不热", ["暖气", "气不"]) == "暖气"


def test_the_entry_vote_reason_and_scores_are_unchanged_for_real_evidence(router: Router) -> None:
    hits = [SearchHit(id=4, external_id="E-4", title="电动车在楼道充电谁来管", score=9.0, snippet="",
                      status="published", category="", department_id=FIRE, valid_to=None, matched=())]
    r = router.route("楼道里有人给电动车充电", NOWHERE, hits)
    assert r.departments[0].id == FIRE
    assert any("楼道" in x and "充电" in x for x in r.departments[0].reasons)
