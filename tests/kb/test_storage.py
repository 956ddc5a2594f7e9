"""Storage and service: SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import inspect

from kb import db
from kb.actor import Actor
from kb.dto import EntryDraft, WorkOrderDraft
from kb.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from kb.service import KnowledgeBase
from tests.conftest import Clock
from tests.helpers import agent, editor
from tests.kb.factories import add_departments, save_published

ADMIN = Actor.system("admin")


def draft(**over: object) -> EntryDraft:
    base: dict[str, object] = dict(
        title="居住证怎么办理", answer="持有效身份证件到居住地派出所申领。", category="户籍居住证/居住证",
        aliases=("办居住证",), keywords=("居住证",), status="draft")
    base.update(over)
    return EntryDraft(**base)  # type: ignore[arg-type]


def test_schema_is_created_by_migrations(kb: KnowledgeBase) -> None:
    tables = set(inspect(kb.store.engine).get_table_names())
    assert {"entry", "entry_version", "category", "department", "script", "work_order", "bulletin",
            "app_user", "audit_log", "change_log", "alembic_version"} <= tables
    assert db.schema_revision(kb.store.engine) == db.HEAD_REVISION
    assert db.upgrade(kb.store.engine) is False  # already at head


def test_head_revision_constant_matches_alembic() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == db.HEAD_REVISION


def test_sqlite_pragmas(sqlite_kb: KnowledgeBase) -> None:
    with sqlite_kb.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_create_edit_versions_and_revision_counter(kb: KnowledgeBase, clock: Clock) -> None:
    assert kb.revision() == 0
    view, ch = kb.entries.save(draft(), actor=editor("alice"))
    assert view.external_id == f"E-{view.id:06d}" and view.revision == 1
    assert view.category == "户籍居住证/居住证" and ch.entries_upserted == {view.id}
    assert ch.revision == kb.revision() > 0
    clock.now += timedelta(minutes=5)
    view2, ch2 = kb.entries.save(draft(answer="新口径：可网上申请。"), actor=editor("bob"), entry_id=view.id,
                                 expected_revision=1)
    assert view2.revision == 2 and view2.updated_by == "bob" and ch2.revision > ch.revision
    hist = kb.entries.history(view.external_id)
    assert [v.revision for v in hist] == [1, 2]
    first_answer = hist[0].snapshot["answer"]
    assert isinstance(first_answer, str) and first_answer.startswith("持有效") and hist[1].changed_by == "bob"
    since = kb.changes_since(ch.revision)
    assert since.entries_upserted == {view.id} and since.revision == ch2.revision


def test_unchanged_save_writes_nothing(kb: KnowledgeBase) -> None:
    view, ch = kb.entries.save(draft(), actor=editor("alice"))
    again, ch2 = kb.entries.save(draft(), actor=editor("alice"), entry_id=view.id)
    assert again.revision == 1 and not ch2.entries_upserted and ch2.revision == ch.revision


def test_optimistic_conflict_loses_nothing(kb: KnowledgeBase) -> None:
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    kb.entries.save(draft(answer="Bob 的版本"), actor=editor("bob"), entry_id=view.id, expected_revision=1)
    with pytest.raises(ConflictError) as err:
        kb.entries.save(draft(answer="Alice 的版本"), actor=editor("alice"), entry_id=view.id, expected_revision=1)
    assert err.value.current_revision == 2
    assert kb.entries.get(view.id).answer == "Bob 的版本"


def test_rollback_is_a_new_version(kb: KnowledgeBase) -> None:
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    kb.entries.save(draft(answer="错误的口径"), actor=editor("bob"), entry_id=view.id)
    back, _ = kb.entries.rollback(view.external_id, 1, actor=editor("carol"))
    assert back.revision == 3 and back.answer == "持有效身份证件到居住地派出所申领。"
    assert kb.entries.history(view.external_id)[-1].action == "rollback"
    with pytest.raises(NotFound):
        kb.entries.rollback(view.external_id, 9, actor=editor("carol"))


def test_workflow_needs_second_reviewer(kb: KnowledgeBase) -> None:
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    view, _ = kb.entries.transition(view.id, "review", actor=editor("alice"))
    with pytest.raises(PermissionDenied, match="审核人"):
        kb.entries.transition(view.id, "published", actor=editor("alice"))
    pub, _ = kb.entries.transition(view.id, "published", actor=editor("bob"))
    assert pub.status == "published" and pub.reviewed_by == "bob"
    with pytest.raises(ValidationError):
        kb.entries.transition(view.id, "review", actor=editor("bob"))


def test_status_changes_only_through_the_workflow(kb: KnowledgeBase) -> None:
    with pytest.raises(ValidationError) as err:
        kb.entries.save(draft(status="published"), actor=editor("alice"))
    assert err.value.field == "status"
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    kb.entries.transition(view.id, "review", actor=editor("alice"))
    with pytest.raises(ValidationError):
        kb.entries.save(draft(status="published"), actor=editor("alice"), entry_id=view.id)


def test_scheduled_publishing(kb: KnowledgeBase, clock: Clock) -> None:
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    kb.entries.transition(view.id, "review", actor=editor("alice"))
    when = clock.now + timedelta(hours=2)
    view, _ = kb.entries.transition(view.id, "published", actor=editor("bob"), publish_at=when)
    assert view.status == "review" and view.publish_at == when and view.reviewed_by == "bob"
    assert not kb.entries.publish_due(actor=Actor.system()).entries_upserted
    clock.now += timedelta(hours=3)
    assert kb.entries.publish_due(actor=Actor.system()).entries_upserted == {view.id}
    assert kb.entries.get(view.id).status == "published"
    assert kb.entries.history(view.id)[-1].action == "scheduled_publish"


def test_rollback_keeps_status(kb: KnowledgeBase) -> None:
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    kb.entries.save(draft(answer="第二版"), actor=editor("alice"), entry_id=view.id)
    kb.entries.transition(view.id, "review", actor=editor("alice"))
    back, _ = kb.entries.rollback(view.id, 1, actor=editor("alice"))
    assert back.status == "review" and back.answer.startswith("持有效")


def test_validation_errors_name_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(ValidationError) as err:
        kb.entries.save(draft(title=" "), actor=editor("a"))
    assert err.value.field == "title"
    with pytest.raises(ValidationError) as err:
        kb.entries.save(draft(department="不存在的单位"), actor=editor("a"))
    assert "department" in str(err.value)
    with pytest.raises(ValidationError):
        kb.entries.save(draft(valid_from=date(2026, 2, 1), valid_to=date(2026, 1, 1)), actor=editor("a"))


def test_delete_is_logged_for_catch_up(kb: KnowledgeBase) -> None:
    view, _ = kb.entries.save(draft(), actor=editor("alice"))
    ch2 = kb.entries.delete(view.id, actor=editor("alice"))
    assert ch2.entries_deleted == {view.id}
    since = kb.changes_since(0)
    assert since.entries_deleted == {view.id} and not since.entries_upserted


def test_departments_and_check(kb: KnowledgeBase, clock: Clock) -> None:
    add_departments(kb)
    street = kb.directory.get_department("D-CY-SLT")
    assert street.parent_external_id == "D-CY" and street.phones == {"hotline": "010-64176577"}
    save_published(kb, draft(status="published", valid_to=date(2026, 12, 10), department="D-RSJ"))
    save_published(kb, draft(title="旧口径", status="published", valid_to=date(2026, 1, 1)))
    report = kb.check(today=date(2026, 11, 28))
    assert [i.title for i in report.of_kind("expiring")] == ["居住证怎么办理"]
    assert [i.title for i in report.of_kind("expired")] == ["旧口径"]
    assert [i.external_id for i in report.of_kind("dept_unverified")] == ["D-CY"]
    clock.now += timedelta(days=200)
    assert len(kb.check().of_kind("unreviewed")) == 2


def test_work_order_is_idempotent_and_found_by_phone(kb: KnowledgeBase, clock: Clock) -> None:
    add_departments(kb)
    wo = WorkOrderDraft(id="0b4f7c2e-1111-4c2b-9a55-000000000001", received_at=clock.now,
                        text="小区暖气不热，室温只有十五度", phone="138 1234 5678", request_type="complaint",
                        handling="dispatched", department="D-CY-SLT", address="朝阳区三里屯", district="朝阳区")
    v1, _ = kb.work_orders.save(wo, actor=agent("agent1"))
    v2, _ = kb.work_orders.save(wo, actor=agent("agent1"))
    assert v1.id == v2.id and kb.stats().work_orders == 1
    assert v1.status == "dispatched" and v1.phone == "+8613812345678"
    found = kb.work_orders.by_phone("+86 138-1234-5678")
    assert [w.id for w in found] == [wo.id]
    clock.now += timedelta(days=31)
    assert kb.work_orders.by_phone("13812345678") == []
    with pytest.raises(ValidationError, match="department"):
        kb.work_orders.save(WorkOrderDraft(id="x1", received_at=datetime(2026, 1, 1), text="派单",
                                           handling="dispatched"), actor=agent("a"))


def test_users_with_argon2(kb: KnowledgeBase) -> None:
    kb.users.create("zhang", actor=ADMIN, role="editor", password="s3cret")
    assert kb.users.verify("zhang", "s3cret") == "editor"
    assert kb.users.verify("zhang", "wrong") is None
    with pytest.raises(ValidationError):
        kb.users.create("zhang", actor=ADMIN)


def test_rules_scripts_and_new_departments_are_audited(kb: KnowledgeBase) -> None:
    add_departments(kb)
    rule, _ = kb.directory.save_rule({"department": "D-CY", "keywords": "暖气|供暖", "district": "朝阳区",
                                      "priority": 70, "note": "朝阳区供暖"}, actor=editor("ed"))
    assert rule.keywords == ("暖气", "供暖") and rule.external_id.startswith("R-")
    script, _ = kb.directory.save_script({"kind": "closing", "title": "结束语", "body": "感谢来电，{caller_name}。"},
                                         actor=editor("ed"))
    kb.directory.delete_rule(rule.external_id, actor=editor("ed"))
    kb.directory.delete_script(script.external_id, actor=editor("ed"))
    assert kb.directory.routing_rules() == [] and kb.directory.scripts() == []
    with pytest.raises(NotFound):
        kb.directory.delete_rule(rule.external_id, actor=editor("ed"))
    with pytest.raises(ValidationError, match="name"):
        kb.directory.save_department({"name": "朝阳区人民政府", "level": "district"}, actor=editor("ed"), new=True)
    from sqlalchemy import select

    from kb import models as m
    with kb.store.session() as s:
        actions = [(a.object_kind, a.action) for a in s.scalars(select(m.AuditLog).where(
            m.AuditLog.object_kind.in_(["routing_rule", "script"])).order_by(m.AuditLog.id))]
    assert actions == [("routing_rule", "save"), ("script", "save"), ("routing_rule", "delete"), ("script", "delete")]


def test_end_shift_and_probe(kb: KnowledgeBase, db_url: str, clock: Clock) -> None:
    kb.users.end_shift(actor=agent("zhangli"))
    kb.users.end_shift(actor=agent("zhangli"), at=datetime(2026, 11, 28, 18, 0))
    from sqlalchemy import select

    from kb import models as m
    with kb.store.session() as s:
        assert s.scalar(select(m.User.last_shift_end).where(m.User.username == "zhangli")) == \
            datetime(2026, 11, 28, 18, 0)
    assert KnowledgeBase.probe(db_url) == db.HEAD_REVISION


def test_probe_creates_nothing(tmp_path: object) -> None:
    from pathlib import Path

    url = f"sqlite:///{Path(str(tmp_path)) / 'empty.sqlite3'}"
    assert KnowledgeBase.probe(url) is None
    assert KnowledgeBase.probe(url) is None  # still empty: nothing was created


def test_iter_work_orders_pages_by_time(kb: KnowledgeBase, clock: Clock) -> None:
    base = datetime(2026, 11, 1, 8, 0)
    for i in range(7):
        kb.work_orders.save(WorkOrderDraft(id=f"00000000-0000-0000-0000-00000000000{6 - i}",
                                           received_at=base + timedelta(hours=i % 3), text=f"诉求{i}"),
                            actor=agent("a"))
    got = [(w.received_at, w.id) for w in kb.work_orders.iter_all(batch=2)]
    assert got == sorted(got) and len(got) == 7
    assert len(list(kb.work_orders.iter_all(since=base + timedelta(hours=2), batch=2))) == 2
