"""Department and category suggestions: rules (district, fallback), entries, names, history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from indexer.history import WorkOrderHistory
from indexer.hits import SearchHit
from indexer.routing import DepartmentProfiles, Router
from kb.actor import Actor
from kb.dto import DepartmentView, EntryView, RoutingRuleView, WorkOrderView
from kb.place import Place
from tests.helpers import InlineExecutor, agent, editor

NOW = datetime(2026, 11, 28, 10, 0)
NOWHERE = Place(None, None, "")
CHAOYANG = Place("朝阳区", None, "朝阳")


def dept(i: int, name: str, *, duties: str = "", phone: str = "", district: str = "") -> DepartmentView:
    return DepartmentView(id=i, external_id=f"D-{i:03d}", name=name, short_name="", level="city",
                          parent_external_id="", district=district, duties=duties, phone=phone, duty_phone="",
                          transfer_phone="", hours="", address="", last_verified=date(2026, 1, 1), active=True,
                          revision=1, updated_at=NOW)


def rule(i: int, dept_id: int, *, keywords: tuple[str, ...] = (), category: str = "", district: str = "",
         priority: int = 50, note: str = "") -> RoutingRuleView:
    return RoutingRuleView(id=i, external_id=f"R-{i:03d}", department_id=dept_id, department_external_id="",
                           category=category, keywords=keywords, district=district, priority=priority, note=note,
                           active=True)


def hit(i: int, title: str, dept_id: int | None, score: float, category: str = "") -> SearchHit:
    return SearchHit(id=i, external_id=f"E-{i}", title=title, score=score, snippet="", status="published",
                     category=category, department_id=dept_id, valid_to=None, matched=())


def entry(i: int, title: str, dept_id: int | None, *, status: str = "published",
          aliases: tuple[str, ...] = ()) -> EntryView:
    return EntryView(id=i, external_id=f"E-{i}", title=title, answer="", aliases=aliases, keywords=(), category="",
                     department_id=dept_id, department_external_id="", department_name="", basis="",
                     valid_from=None, valid_to=None, status=status, revision=1, created_at=NOW, created_by="t",
                     updated_at=NOW, updated_by="t")


def order(i: int, text: str, *, dept_id: int | None = None, category: str = "", returned: bool = False,
          at: datetime = NOW, status: str = "", district: str = "", street: str = "") -> WorkOrderView:
    return WorkOrderView(id=f"wo-{i}", external_id="", received_at=at, phone="", caller_name="", address="",
                         district=district, street=street, request_type="complaint", urgency="normal", text=text,
                         category=category, handling="dispatched" if dept_id else "answered",
                         department_id=dept_id, department_external_id="", department_name="", due_at=None,
                         entry_id=None, entry_external_id="",
                         status=status or ("returned" if returned else "dispatched"),
                         returned=returned, seat="", created_by="t", created_at=at)


DEPTS = [dept(1, "北京市朝阳区人民政府", phone="010-65090001", district="朝阳区"),
         dept(2, "北京市海淀区人民政府", phone="010-88487000", district="海淀区"),
         dept(3, "北京市生态环境局", phone="010-68413817"),
         dept(4, "北京市城市管理委员会", phone="010-12319"),
         dept(5, "北京市人力资源和社会保障局", phone="010-12333", duties="社会保险 养老保险 失业保险 工伤认定")]


def test_keyword_rule_with_district_applies_only_in_its_district() -> None:
    rules = [rule(1, 4, keywords=("占道经营", "小摊"), district="朝阳区", priority=80, note="朝阳占道归城管")]
    router = Router(DEPTS, rules)
    inside = router.route("小区门口有人占道经营摆小摊", CHAOYANG, [])
    assert inside.departments[0].id == 4
    assert any("关键词「占道经营、小摊」" in r and "朝阳区" in r for r in inside.departments[0].reasons)
    assert inside.departments[0].phones == {"hotline": "010-12319"}
    elsewhere = router.route("小区门口有人占道经营摆小摊", Place("海淀区", None, "海淀"), [])
    assert all(d.id != 4 for d in elsewhere.departments)


def test_fallback_leads_when_responsibility_is_unclear_and_yields_otherwise() -> None:
    rules = [rule(1, 1, district="朝阳区", priority=60, note=""), rule(2, 2, district="海淀区", priority=60),
             rule(3, 3, keywords=("噪音",), priority=90, note="噪声扰民")]
    router = Router(DEPTS, rules)
    unclear = router.route("楼道里堆了很多杂物没人管", CHAOYANG, [])
    assert [d.id for d in unclear.departments] == [1]  # the district of the place, not 海淀
    assert "职责不清" in unclear.departments[0].reasons[0]
    clear = router.route("夜里施工噪音太大", CHAOYANG, [])
    assert [d.id for d in clear.departments][:2] == [3, 1]
    assert clear.departments[0].score > clear.departments[1].score
    nowhere = router.route("楼道里堆了很多杂物没人管", NOWHERE, [])
    assert nowhere.departments == ()  # no place, no district fallback


def test_category_rule_needs_the_category_and_entries_vote_for_owners() -> None:
    rules = [rule(1, 5, category="社会保障", priority=70)]
    router = Router(DEPTS, rules)
    hits = [hit(1, "养老保险转移", 5, 9.0, "社会保障/养老保险"), hit(2, "垃圾分类", 4, 3.0, "城市管理/垃圾")]
    r = router.route("养老保险关系怎么转移", NOWHERE, hits)
    assert r.categories[0].name == "社会保障/养老保险"
    assert r.departments[0].id == 5
    reasons = " ".join(r.departments[0].reasons)
    assert "口径「养老保险转移」的承办单位" in reasons and "分类「社会保障」" in reasons
    no_cat = router.route("垃圾桶满了", NOWHERE, [hit(2, "垃圾分类", 4, 3.0, "城市管理/垃圾")])
    assert [d.id for d in no_cat.departments] == [4]


def test_department_named_by_caller_or_by_duties() -> None:
    router = Router(DEPTS, [])
    named = router.route("我要投诉生态环境局不作为", NOWHERE, [])
    assert named.departments[0].id == 3
    assert "生态环境局" in named.departments[0].reasons[0]
    duties = router.route("工伤认定需要什么材料", NOWHERE, [])
    assert duties.departments[0].id == 5 and "职责" in duties.departments[0].reasons[0]


def test_history_routes_like_past_cases_and_returned_cases_count_against() -> None:
    h = WorkOrderHistory()
    for i in range(6):
        h.add(order(i, f"饭店油烟扰民，排风口对着窗户{i}", dept_id=3, category="环境保护/油烟"))
    for i in range(6, 12):
        h.add(order(i, f"饭店油烟扰民，排风口对着窗户{i}", dept_id=4, category="环境保护/油烟", returned=True))
    router = Router(DEPTS, [], history=h)
    r = router.route("楼下饭店油烟扰民", NOWHERE, [], now=NOW)
    assert r.departments[0].id == 3
    assert any("相似历史工单多派此单位" in x for x in r.departments[0].reasons)
    assert all(d.id != 4 for d in r.departments)  # only returned there: negative, not suggested
    assert r.categories[0].name == "环境保护/油烟" and r.categories[0].score == 1.0
    assert r.similar and r.similar[0].text.startswith("饭店油烟扰民")


PROFILED = [entry(1, "餐饮油烟污染投诉", 3), entry(2, "油烟净化设施检查", 3), entry(3, "工地扬尘污染", 3),
            entry(4, "占道经营处理", 4), entry(5, "共享单车乱停放", 4), entry(6, "露天烧烤管理", 4),
            entry(7, "养老保险转移", 5), entry(8, "失业保险金申领", 5)]


def test_department_profiles_rank_owners_of_many_matching_entries_with_checkable_reasons() -> None:
    router = Router(DEPTS, [], profiles=DepartmentProfiles(PROFILED))
    r = router.route("楼下饭店油烟扰民", NOWHERE, [])  # no search hit at all: the profiles still know
    assert r.departments[0].id == 3
    reason = r.departments[0].reasons[0]
    assert reason.startswith("此单位口径含「油烟」2 条") and "《餐饮油烟污染投诉》" in reason
    # One strong hit of another department does not outweigh several matching entries.
    hits = [hit(6, "露天烧烤管理", 4, 9.0)]
    # (without 投诉 a tie: single characters such as 油 and 烟 no longer count)
    r = router.route("露天烧烤油烟污染投诉", NOWHERE, hits)
    assert [d.id for d in r.departments[:2]] == [3, 4]
    assert any("口径「露天烧烤管理」的承办单位" in x for x in r.departments[1].reasons)
    # A department without entries is found by its name (name features are part of every profile).
    r = router.route("朝阳区人民政府的电话", NOWHERE, [])
    assert r.departments[0].id == 1


def test_department_profiles_follow_entry_changes() -> None:
    profiles = DepartmentProfiles([*PROFILED, entry(9, "油烟罚款标准", 4, status="draft")])
    assert len(profiles) == 8 and profiles.entries_of(4) == 3  # the draft does not count
    before = profiles.match("油烟")
    assert set(before) == {3} and dict(before[3].features) == {"油烟": 2}  # words, never single characters
    profiles.update([entry(2, "油烟净化设施检查", 4), entry(9, "油烟罚款标准", 4)], deletes=[1])
    after = profiles.match("油烟")
    assert set(after) == {4} and dict(after[4].features)["油烟"] == 2 and profiles.entries_of(3) == 1
    profiles.update([entry(9, "油烟罚款标准", 4, status="archived")], deletes=[404])
    assert dict(profiles.match("油烟")[4].features)["油烟"] == 1
    assert profiles.match("油烟", departments={3, 5}) == {}  # only departments that may be suggested

    # A load (a background thread at startup) keeps the updates applied meanwhile ...
    loading = DepartmentProfiles()

    def entries_while_an_edit_arrives() -> Iterator[EntryView]:
        yield entry(1, "餐饮油烟污染投诉", 3)
        loading.update([entry(2, "油烟净化设施检查", 3)])
        yield entry(4, "占道经营处理", 4)

    loading.load(entries_while_an_edit_arrives())
    assert len(loading) == 3 and dict(loading.match("油烟")[3].features)["油烟"] == 2
    # ... and gives way to a replace (an index rebuild) that happened meanwhile.
    stale = DepartmentProfiles()

    def entries_while_rebuilt() -> Iterator[EntryView]:
        stale.replace(DepartmentProfiles([entry(7, "养老保险转移", 5)]))
        yield entry(1, "餐饮油烟污染投诉", 3)

    stale.load(entries_while_rebuilt())
    assert len(stale) == 1 and stale.entries_of(5) == 1


def test_engine_keeps_department_profiles_current(tmp_path: Path) -> None:
    from indexer.engine import Engine
    from kb.dto import EntryDraft
    from kb.exchange import import_rows
    from kb.paths import AppPaths
    from kb.service import KnowledgeBase

    paths = AppPaths(tmp_path).ensure()
    kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}", clock=lambda: NOW)
    try:
        import_rows(kb, "departments", [(1, {"external_id": "D-ENV", "name": "北京市生态环境局"}),
                                        (2, {"external_id": "D-CG", "name": "北京市城市管理委员会"})],
                    actor=Actor.system("t"))
        titles = [("餐饮油烟污染投诉", "D-ENV"), ("油烟净化设施检查", "D-ENV"), ("占道经营处理", "D-CG"),
                  ("露天烧烤管理", "D-CG")]
        import_rows(kb, "entries", [(i + 1, {"external_id": f"E-{i}", "title": t, "answer": "按规定办理。",
                                             "department": d, "status": "published"})
                                    for i, (t, d) in enumerate(titles)], actor=Actor.system("t"))
        engine = Engine.open(paths, kb, executor=InlineExecutor())
        try:
            assert engine.suggest("油烟净化").departments[0].external_id == "D-ENV"
            moved = kb.entries.get("E-1")
            _, changes = kb.entries.save(EntryDraft(title=moved.title, answer=moved.answer, external_id="E-1",
                                                  department="D-CG", status="published"), actor=editor("t"),
                                         entry_id=moved.id)
            engine.apply_changes(changes)
            changes = kb.entries.delete(kb.entries.get("E-0").id, actor=editor("t"))
            engine.apply_changes(changes)
            s = engine.suggest("油烟净化")
            assert s.departments[0].external_id == "D-CG"
            assert any("「油烟」1 条" in r and "《油烟净化设施检查》" in r for r in s.departments[0].reasons)
            assert engine.rebuild() == 3  # a rebuild reads the profiles afresh: same answer
            assert engine.suggest("油烟净化").departments[0].external_id == "D-CG"
        finally:
            engine.close()
    finally:
        kb.close()


def test_engine_suggest_output_and_repeat_callers(tmp_path: Path) -> None:
    """Through the real KnowledgeBase and Engine: fields of `huiyin suggest`, repeat calls by normalised phone."""
    from indexer.engine import Engine
    from kb.dto import WorkOrderDraft
    from kb.exchange import import_rows
    from kb.paths import AppPaths
    from kb.service import KnowledgeBase

    paths = AppPaths(tmp_path).ensure()
    kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}", clock=lambda: NOW)
    try:
        import_rows(kb, "departments", [(1, {"external_id": "D-ENV", "name": "北京市生态环境局",
                                             "phone": "010-68413817"}),
                                        (2, {"external_id": "D-CY", "name": "北京市朝阳区人民政府", "level": "district",
                                             "district": "朝阳区", "phone": "010-65090001"})], actor=Actor.system("t"))
        import_rows(kb, "rules", [(1, {"department": "D-CY", "district": "朝阳区", "priority": 60})],
                    actor=Actor.system("t"))
        import_rows(kb, "entries", [(1, {"title": "施工噪音扰民怎么投诉", "answer": "夜间施工噪声由生态环境部门查处。",
                                         "department": "D-ENV", "category": "环境保护/噪声", "status": "published"})],
                    actor=Actor.system("t"))
        kb.lexicons.set_places([{"district": "朝阳区", "street": "望京街道", "aliases": "望京"}], actor=editor("t"))
        for i, (phone, days) in enumerate([("138 1234 5678", 2), ("+86-138-1234-5678", 10), ("13812345678", 40)]):
            kb.work_orders.save(WorkOrderDraft(id=f"w{i}", received_at=NOW - timedelta(days=days),
                                               text="望京工地夜里施工噪音太吵", phone=phone, district="朝阳区",
                                               street="望京街道", category="环境保护/噪声", handling="dispatched",
                                               department="D-ENV", request_type="complaint"), actor=agent("t"))
        engine = Engine.open(paths, kb, executor=InlineExecutor())  # the history catches up at once
        try:
            s = engine.suggest("望京这边工地夜里施工噪音很大", phone="(+86) 138-1234-5678", now=NOW,
                               request_type="complaint")
            out = s.to_json()
            assert {"answers", "departments", "categories", "alerts", "repeat", "due_at"} <= set(out)
            d = out["departments"][0]
            assert set(d) >= {"id", "external_id", "name", "score", "reasons", "phones"}
            assert d["external_id"] == "D-ENV" and d["phones"] == {"hotline": "010-68413817"} and d["reasons"]
            assert out["categories"][0]["name"] == "环境保护/噪声" and 0 < out["categories"][0]["score"] <= 1
            assert [r["id"] for r in out["repeat"]] == ["w0", "w1"]  # within 30 days, any spelling of the number
            assert out["repeat"][0]["status"] == "dispatched"
            assert out["due_at"] is not None
            assert sorted(c["id"] for c in out["similar_open"]) == ["w0", "w1", "w2"]  # open, same street
            assert out["place"]["district"] == "朝阳区"
            # A work order saved on this seat counts in the history at once (apply_changes).
            history = engine.history
            assert history is not None
            before = len(history.similar("望京工地夜里施工噪音太吵", limit=30, min_similarity=0.2))
            _, changes = kb.work_orders.save(WorkOrderDraft(
                id="w-new", received_at=NOW, text="望京工地夜里施工噪音太吵", district="朝阳区", street="望京街道",
                handling="dispatched", department="D-ENV", request_type="complaint"), actor=agent("t"))
            engine.apply_changes(changes)
            assert len(history.similar("望京工地夜里施工噪音太吵", limit=30, min_similarity=0.2)) == before + 1
        finally:
            engine.close()
    finally:
        kb.close()


def test_reasons_quote_whole_words_of_the_caller() -> None:
    from indexer.routing import _join_grams

    assert _join_grams("农业资源保护", ["农业", "业资", "资源"]) == "农业资源"
    assert _join_grams("我家暖气不热，上周反映过", ["暖气", "气不"]) == "暖气"  # not 暖气不
    assert _join_grams("望京这边工地夜里施工", ["边工", "工地"]) == "工地"  # not 边工地


def test_profile_reasons_skip_fragments_of_shown_words() -> None:
    from indexer.routing import _display_features

    shown = _display_features([("楼道", 2), ("道里", 2), ("臭", 1)], {"楼道", "臭鸡蛋"})
    assert shown == [("楼道", 2)]
    assert _display_features([("暖气", 3), ("不热", 1)], {"暖气", "不热"}) == [("暖气", 3), ("不热", 1)]
