"""Editor-side queries and operations: SQLite and PostgreSQL alike (no Qt)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from kb import editorial as ed
from kb import models as m
from kb.actor import Actor
from kb.dto import EntryDraft
from kb.errors import ConflictError, NotFound
from kb.permissions import can_publish
from kb.service import KnowledgeBase
from tests.conftest import Clock
from tests.helpers import agent, editor
from tests.kb.factories import add_departments, save_published

TODAY = date(2026, 11, 28)  # the clock fixture's day
SYSTEM = Actor.system()  # who the scheduled jobs act as


def draft(title: str = "社保卡丢失如何补办", **over: object) -> EntryDraft:
    base: dict[str, object] = dict(
        title=title, answer="社保卡丢失请先拨打12333挂失，再携带身份证到就近网点补办。",
        aliases=("社保卡丢了",), keywords=("社保卡", "补办"), category="社会保障/社保卡", department="D-RSJ",
        basis="《社会保障卡管理办法》", status="published")
    base.update(over)
    return EntryDraft(**base)  # type: ignore[arg-type]


def ids(items: list[ed.EntryListItem]) -> list[str]:
    return [i.entry.external_id for i in items]


@pytest.fixture
def base(kb: KnowledgeBase, clock: Clock) -> KnowledgeBase:
    """Five entries in different states; the clock stands at 2026-11-28 10:00."""
    add_departments(kb)
    clock.now = datetime(2026, 1, 5, 9, 0)  # long ago: not reviewed for > 180 days
    save_published(kb, draft("居住证怎么办理", external_id="E-OLD", category="户籍居住证/居住证", department="D-CY",
                        aliases=("办居住证",), keywords=("居住证",)), user="alice")
    clock.now = datetime(2026, 11, 20, 9, 0)
    save_published(kb, draft(external_id="E-SBK"), user="alice")
    save_published(kb, draft("医保门诊报销比例", external_id="E-EXPIRING", category="社会保障/医疗保险",
                        valid_to=TODAY + timedelta(days=10), aliases=("看病能报多少",)), user="alice")
    save_published(kb, draft("2025年供暖补贴", external_id="E-EXPIRED", category="城乡建设/供暖",
                        valid_to=TODAY - timedelta(days=1), keywords=("ＡＰＰ申请",)), user="alice")
    save_published(kb, draft("新政策草稿", external_id="E-DRAFT", status="draft"), user="bob")
    clock.now = datetime(2026, 11, 28, 10, 0)
    return kb


def test_list_entries_filters(base: KnowledgeBase) -> None:
    assert len(ed.list_entries(base)) == 5
    assert ids(ed.list_entries(base, ed.EntryFilter(status="draft"))) == ["E-DRAFT"]
    assert set(ids(ed.list_entries(base, ed.EntryFilter(category="社会保障")))) == {"E-SBK", "E-EXPIRING", "E-DRAFT"}
    assert ids(ed.list_entries(base, ed.EntryFilter(category="社会保障/医疗保险"))) == ["E-EXPIRING"]
    assert ids(ed.list_entries(base, ed.EntryFilter(department="朝阳区人民政府"))) == ["E-OLD"]
    assert ids(ed.list_entries(base, ed.EntryFilter(department="D-CY"))) == ["E-OLD"]
    assert ids(ed.list_entries(base, ed.EntryFilter(expiring=True))) == ["E-EXPIRING"]
    assert ids(ed.list_entries(base, ed.EntryFilter(expired=True))) == ["E-EXPIRED"]
    assert ids(ed.list_entries(base, ed.EntryFilter(unreviewed=True))) == ["E-OLD"]
    assert ids(ed.list_entries(base, ed.EntryFilter(status="published", category="社会保障", expiring=True))) == [
        "E-EXPIRING"]


def test_list_entries_row_flags(base: KnowledgeBase) -> None:
    rows = {i.entry.external_id: i for i in ed.list_entries(base)}
    assert rows["E-EXPIRED"].expired and not rows["E-EXPIRED"].expiring
    assert rows["E-EXPIRING"].expiring and not rows["E-EXPIRING"].expired
    assert rows["E-OLD"].unreviewed and not rows["E-SBK"].unreviewed
    assert all(i.flags == 0 for i in rows.values())


def test_list_entries_text_matches_aliases_keywords_and_full_width(base: KnowledgeBase) -> None:
    assert ids(ed.list_entries(base, ed.EntryFilter(text="看病能报"))) == ["E-EXPIRING"]  # alias
    assert ids(ed.list_entries(base, ed.EntryFilter(text="app申请"))) == ["E-EXPIRED"]  # ＡＰＰ keyword
    assert ids(ed.list_entries(base, ed.EntryFilter(text="e-old"))) == ["E-OLD"]
    assert ids(ed.list_entries(base, ed.EntryFilter(text="  居住证 "))) == ["E-OLD"]
    assert ed.list_entries(base, ed.EntryFilter(text="没有这个词")) == []


def test_list_entries_ids_keep_search_rank(base: KnowledgeBase) -> None:
    by_ext = {i.entry.external_id: i.entry.id for i in ed.list_entries(base)}
    ranked = (by_ext["E-DRAFT"], by_ext["E-OLD"], by_ext["E-SBK"])
    assert ids(ed.list_entries(base, ed.EntryFilter(ids=ranked))) == ["E-DRAFT", "E-OLD", "E-SBK"]
    assert ids(ed.list_entries(base, ed.EntryFilter(ids=ranked, status="published"))) == ["E-OLD", "E-SBK"]
    assert ed.list_entries(base, ed.EntryFilter(ids=())) == []
    assert len(ed.list_entries(base, ed.EntryFilter(limit=2))) == 2


def test_flagged_filter_and_resolving_feedback(base: KnowledgeBase) -> None:
    sbk = base.entries.get("E-SBK")
    base.feedback.add(sbk.id, "outdated", note="网点已搬迁", actor=agent("坐席1"))
    base.feedback.add(sbk.id, "wrong", actor=agent("坐席2"))
    base.feedback.add(sbk.id, "useful", actor=agent("坐席3"))
    flagged = ed.list_entries(base, ed.EntryFilter(flagged=True))
    assert ids(flagged) == ["E-SBK"] and flagged[0].flags == 2
    assert base.feedback.resolve(sbk.id, actor=editor("editor")) == 2
    assert ed.list_entries(base, ed.EntryFilter(flagged=True)) == []
    assert base.feedback.resolve(sbk.id, actor=editor("editor")) == 0
    with base.store.session() as s:
        audit = s.scalar(select(m.AuditLog).where(m.AuditLog.action == "resolve_feedback"))
        assert audit is not None and audit.user == "editor" and audit.object_id == "E-SBK"


def test_workflow_helpers(base: KnowledgeBase) -> None:
    assert ed.allowed_transitions("draft") == ("review", "archived")
    assert ed.allowed_transitions("nonsense") == ()
    d = base.entries.get("E-DRAFT")
    reviewed, _ = base.entries.transition(d.id, "review", actor=editor("bob"))
    assert not can_publish(editor("bob"), reviewed) and can_publish(editor("carol"), reviewed)
    assert not can_publish(agent("carol"), reviewed)  # an agent never publishes
    assert not can_publish(editor("carol"), base.entries.get("E-SBK"))  # already published


def test_draft_of_round_trips(base: KnowledgeBase) -> None:
    e = base.entries.get("E-EXPIRING")
    view, ch = base.entries.save(ed.draft_of(e), actor=editor("someone"), entry_id=e.id, expected_revision=e.revision)
    assert view.revision == e.revision and not ch.entries_upserted  # unchanged: no new version
    values = ed.draft_values(ed.draft_of(e))
    assert values["aliases"] == "看病能报多少" and values["valid_to"] == "2026-12-08"
    snap = base.entries.history(e.id)[-1].snapshot
    assert ed.snapshot_values(dict(snap)) == values
    assert ed.changed_field_names(ed.draft_of(e), replace(ed.draft_of(e), basis="新文号")) == ("basis",)


# ------------------------------------------------------------------- expiry
def test_expire_due_archives_as_new_version_by_system(base: KnowledgeBase, clock: Clock) -> None:
    expired = base.entries.get("E-EXPIRED")
    base.entries.save(draft("过期草稿", external_id="E-DRAFT-OLD", status="draft", valid_to=date(2026, 1, 1)),
                      actor=editor("bob"))
    ch = base.entries.expire_due(actor=SYSTEM)
    assert ch.entries_upserted == {expired.id}
    after = base.entries.get("E-EXPIRED")
    assert after.status == "archived" and after.revision == expired.revision + 1
    last = base.entries.history(expired.id)[-1]
    assert last.changed_by == "system" and last.action == "archived" and "2026-11-27" in last.note
    assert base.entries.get("E-DRAFT-OLD").status == "draft"  # only published entries expire
    assert base.entries.get("E-EXPIRING").status == "published"
    with base.store.session() as s:
        assert s.scalar(select(m.AuditLog).where(m.AuditLog.user == "system", m.AuditLog.object_id == "E-EXPIRED"))
    assert base.changes_since(ch.revision - 1).entries_upserted == {expired.id}
    assert base.entries.expire_due(actor=SYSTEM).entries_upserted == frozenset()  # idempotent
    # valid_to is inclusive: on 2026-12-08 the entry is still valid, the day after it expires
    assert not base.entries.expire_due(actor=SYSTEM, today=TODAY + timedelta(days=10)).entries_upserted
    expiring = base.entries.get("E-EXPIRING").id
    assert base.entries.expire_due(actor=SYSTEM, today=TODAY + timedelta(days=11)).entries_upserted == {expiring}


# ---------------------------------------------------------------- conflicts
def test_conflict_on_different_fields_merges_automatically(base: KnowledgeBase, clock: Clock) -> None:
    e = base.entries.get("E-SBK")
    alice = replace(ed.draft_of(e), answer=e.answer + "也可在北京通APP办理。")
    bob = replace(ed.draft_of(e), title="社保卡丢了怎么补办")
    base.entries.save(alice, actor=editor("alice"), entry_id=e.id, expected_revision=e.revision)
    with pytest.raises(ConflictError) as info:
        base.entries.save(bob, actor=editor("bob"), entry_id=e.id, expected_revision=e.revision)
    assert info.value.current_revision == e.revision + 1
    c = ed.load_conflict(base, e.id, bob, e.revision)
    assert c.conflicting == () and c.changed_mine == ("title",) and c.changed_theirs == ("answer",)
    assert c.merged.title == "社保卡丢了怎么补办" and c.merged.answer.endswith("北京通APP办理。")
    view, ch = ed.resolve_conflict(base, c, "merged", actor=editor("bob"))
    assert view.title == bob.title and view.answer == alice.answer and view.revision == e.revision + 2
    assert ch.entries_upserted == {e.id}
    hist = base.entries.history(e.id)
    assert [v.changed_by for v in hist[-2:]] == ["alice", "bob"] and "冲突" in hist[-1].note


def test_conflict_on_same_field_keep_mine_loses_nothing(base: KnowledgeBase) -> None:
    e = base.entries.get("E-SBK")
    theirs = replace(ed.draft_of(e), answer="甲的口径")
    mine = replace(ed.draft_of(e), answer="乙的口径")
    base.entries.save(theirs, actor=editor("alice"), entry_id=e.id, expected_revision=e.revision)
    c = ed.load_conflict(base, e.id, mine, e.revision)
    assert c.conflicting == ("answer",) and c.merged.answer == "乙的口径"
    view, _ = ed.resolve_conflict(base, c, "mine", actor=editor("bob"))
    assert view.answer == "乙的口径"
    answers = [v.snapshot["answer"] for v in base.entries.history(e.id)]
    assert "甲的口径" in answers and answers[-1] == "乙的口径"


def test_conflict_keep_theirs_records_my_draft(base: KnowledgeBase) -> None:
    e = base.entries.get("E-SBK")
    base.entries.save(replace(ed.draft_of(e), answer="甲的口径"), actor=editor("alice"), entry_id=e.id,
                      expected_revision=e.revision)
    c = ed.load_conflict(base, e.id, replace(ed.draft_of(e), answer="乙的口径"), e.revision)
    view, ch = ed.resolve_conflict(base, c, "theirs", actor=editor("bob"))
    assert view.answer == "甲的口径" and view.revision == e.revision + 1 and not ch.entries_upserted
    with base.store.session() as s:
        audit = s.scalar(select(m.AuditLog).where(m.AuditLog.action == "conflict_discard"))
        assert audit is not None and audit.user == "bob" and audit.detail["discarded"]["answer"] == "乙的口径"


def test_conflict_resolution_detects_a_third_save(base: KnowledgeBase) -> None:
    e = base.entries.get("E-SBK")
    base.entries.save(replace(ed.draft_of(e), answer="甲"), actor=editor("alice"), entry_id=e.id,
                      expected_revision=e.revision)
    c = ed.load_conflict(base, e.id, replace(ed.draft_of(e), answer="乙"), e.revision)
    base.entries.save(replace(ed.draft_of(e), answer="丙"), actor=editor("carol"), entry_id=e.id,
                      expected_revision=e.revision + 1)
    for choice in ("mine", "theirs", "merged"):
        with pytest.raises(ConflictError):
            ed.resolve_conflict(base, c, choice, actor=editor("bob"))
    assert base.entries.get(e.id).answer == "丙"


def test_conflict_resolution_never_changes_status(base: KnowledgeBase) -> None:
    e = base.entries.get("E-DRAFT")
    base.entries.transition(e.id, "review", actor=editor("bob"))
    c = ed.load_conflict(base, e.id, replace(ed.draft_of(e), answer="新", status="published"), e.revision)
    view, _ = ed.resolve_conflict(base, c, "mine", actor=editor("mallory"))
    assert view.status == "review" and view.answer == "新"


def test_conflict_without_base_version_marks_every_difference(base: KnowledgeBase) -> None:
    e = base.entries.get("E-SBK")
    c = ed.load_conflict(base, e.id, replace(ed.draft_of(e), title="改", answer="改"), 99)
    assert c.base is None and set(c.conflicting) == {"title", "answer"}


# ----------------------------------------------------------- knowledge gaps
def test_knowledge_gaps_grouped_and_ranked(base: KnowledgeBase, clock: Clock) -> None:
    for q in ("医保 报销", "  医保   报销 ", "医保　报销", "ＥＴＣ 办理"):
        base.feedback.log_search("search", q, 0, actor=agent("坐席"))
        clock.now += timedelta(minutes=1)
    base.feedback.log_search("search", "etc 办理", 0, actor=agent("坐席"))
    base.feedback.log_search("suggest", "停车费怎么交", 3, actor=agent("坐席"))
    base.feedback.log_search("suggest", "停车费怎么交", 3, actor=agent("坐席"))
    sbk = base.entries.get("E-SBK")
    base.feedback.log_search("search", "社保卡丢了", 2, actor=agent("坐席"))  # shown, not picked here …
    base.feedback.log_search("search", "社保卡丢了", 2, picked_entry_id=sbk.id,
                             actor=agent("坐席"))  # … but picked once: no gap
    base.feedback.add(sbk.id, "outdated", note="网点已搬迁", query="社保卡补办", actor=agent("坐席1"))
    base.feedback.add(sbk.id, "outdated", note="网点已搬迁", actor=agent("坐席2"))
    base.feedback.add(sbk.id, "wrong", note="电话不对", actor=agent("坐席2"))
    base.feedback.add(sbk.id, "useful", actor=agent("坐席3"))
    gaps = ed.knowledge_gaps(base)
    summary = [(g.kind, g.query, g.count) for g in gaps]
    assert summary[:2] == [("no_result", "医保 报销", 3), ("no_result", "etc 办理", 2)]
    assert ("not_picked", "停车费怎么交", 2) in summary
    assert ("outdated", "社保卡丢失如何补办", 2) in summary and ("wrong", "社保卡丢失如何补办", 1) in summary
    assert not any(g.query == "社保卡丢了" for g in gaps)
    outdated = next(g for g in gaps if g.kind == "outdated")
    assert outdated.entry_id == sbk.id and outdated.entry_external_id == "E-SBK"
    assert outdated.notes == ("网点已搬迁",) and outdated.samples == ("社保卡补办",)
    etc = next(g for g in gaps if g.query == "etc 办理")
    assert set(etc.samples) == {"ＥＴＣ 办理", "etc 办理"} and etc.label == "搜索无结果"
    assert len(ed.knowledge_gaps(base, limit=1)) == 1
    # only what happened since a time
    recent = ed.knowledge_gaps(base, since=clock.now - timedelta(seconds=30))
    assert ("no_result", "医保 报销", 3) not in [(g.kind, g.query, g.count) for g in recent]
    base.feedback.resolve(sbk.id, actor=editor("editor"))
    assert not any(g.entry_id for g in ed.knowledge_gaps(base))


def test_draft_for_gap() -> None:
    gap = ed.Gap("no_result", "etc 办理", 2, datetime(2026, 11, 28), samples=("ＥＴＣ 办理", "etc 办理"))
    d = ed.draft_for_gap(gap)
    assert d.title == "ＥＴＣ 办理" and d.aliases == ("etc 办理", "ＥＴＣ 办理") and d.status == "draft"


# ---------------------------------------------------- updates since a shift
def test_updates_since_last_shift(base: KnowledgeBase, clock: Clock) -> None:
    shift_end = datetime(2026, 11, 27, 18, 0)
    clock.now = datetime(2026, 11, 28, 8, 0)
    sbk = base.entries.get("E-SBK")
    base.entries.save(replace(ed.draft_of(sbk), answer="新的补办流程。"), actor=editor("alice"), entry_id=sbk.id)
    draft_entry = base.entries.get("E-DRAFT")
    base.entries.transition(draft_entry.id, "review", actor=editor("bob"))
    base.entries.transition(draft_entry.id, "published", actor=editor("carol"))
    base.entries.transition(base.entries.get("E-OLD").id, "archived", actor=editor("carol"))
    base.entries.save(draft("还在写的草稿", status="draft"), actor=editor("bob"))
    base.entries.save(replace(ed.draft_of(base.entries.get("E-EXPIRING")), status="published"), actor=editor("x"),
                      entry_id=base.entries.get("E-EXPIRING").id)  # unchanged: no version, not listed
    clock.now = datetime(2026, 11, 28, 10, 0)
    updates = ed.updates_since(base, shift_end)
    got = {(u.entry.external_id, u.kind) for u in updates}
    assert got == {("E-SBK", "changed"), ("E-DRAFT", "new"), ("E-OLD", "withdrawn")}
    changed = next(u for u in updates if u.kind == "changed")
    assert changed.changed_fields == ("answer",) and changed.changed_by == "alice" and changed.label == "更新"
    new = next(u for u in updates if u.kind == "new")
    assert new.changed_by == "carol"
    assert ed.updates_since(base, datetime(2026, 11, 28, 9, 0)) == []


def test_updates_since_ignores_edits_that_do_not_reach_agents(base: KnowledgeBase, clock: Clock) -> None:
    shift_end = clock.now
    clock.now += timedelta(hours=1)
    d = base.entries.get("E-DRAFT")
    base.entries.save(replace(ed.draft_of(d), answer="草稿改了"), actor=editor("bob"), entry_id=d.id)
    sbk = base.entries.get("E-SBK")
    base.entries.transition(sbk.id, "draft", actor=editor("alice"))  # withdrawn for rework
    assert [(u.entry.external_id, u.kind) for u in ed.updates_since(base, shift_end)] == [("E-SBK", "withdrawn")]


def test_last_shift_end(base: KnowledgeBase) -> None:
    base.users.create("agent1", actor=Actor.system("admin"))
    assert base.users.last_shift_end("agent1") is None
    assert base.users.last_shift_end("nobody") is None
    with base.store.session() as s:
        u = s.scalar(select(m.User).where(m.User.username == "agent1"))
        assert u is not None
        u.last_shift_end = datetime(2026, 11, 27, 18, 0)
    assert base.users.last_shift_end("agent1") == datetime(2026, 11, 27, 18, 0)


# ------------------------------------------------------------------ rollback
def test_rollback_restores_content_but_not_status(base: KnowledgeBase, clock: Clock) -> None:
    e = base.entries.get("E-DRAFT")  # revision 1, draft
    base.entries.save(replace(ed.draft_of(e), answer="第二版口径"), actor=editor("bob"), entry_id=e.id)
    base.entries.transition(e.id, "review", actor=editor("bob"))
    base.entries.transition(e.id, "published", actor=editor("carol"))  # revision 4, published
    view, ch = base.entries.rollback(e.id, 1, actor=editor("carol"), expected_revision=4)
    assert view.answer == e.answer and view.status == "published" and view.revision == 5
    assert ch.entries_upserted == {e.id}
    last = base.entries.history(e.id)[-1]
    assert last.action == "rollback" and last.note == "回滚到第 1 版" and last.changed_by == "carol"
    with pytest.raises(ConflictError):
        base.entries.rollback(e.id, 2, actor=editor("carol"), expected_revision=4)
    assert base.entries.get(e.id).revision == 5
    with pytest.raises(NotFound):
        base.entries.rollback(e.id, 99, actor=editor("carol"))
