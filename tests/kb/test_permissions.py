"""Actors and permissions: who may do what, checked in the services before anything is written."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kb import models as m
from kb import permissions
from kb.actor import Actor
from kb.dto import EntryDraft, WorkOrderDraft
from kb.errors import PermissionDenied, ValidationError
from kb.exchange import import_rows
from kb.service import KnowledgeBase
from kb.services.store import Store, UnitOfWork
from kb.vocab import EDITOR_ROLES, ROLES
from tests.helpers import agent, editor
from tests.kb.factories import add_departments

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor.system("admin")


def draft(**over: Any) -> EntryDraft:
    values: dict[str, Any] = dict(title="居住证怎么办理", answer="持有效身份证件到居住地派出所申领。",
                                  category="户籍/居住证", department="D-CY")
    values.update(over)
    return EntryDraft(**values)


def audit_rows(kb: KnowledgeBase) -> int:
    with kb.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(m.AuditLog)) or 0)


# ------------------------------------------------------------------ the actor
def test_an_actor_is_a_user_with_a_known_role() -> None:
    assert Actor("张敏", "agent").role_label == "坐席"
    system = Actor.system()
    assert (system.user_id, system.role) == ("system", "admin")
    assert Actor.system("init") == Actor("init", "admin")
    with pytest.raises(ValidationError) as err:
        Actor("张敏", "boss")
    assert err.value.field == "role" and "坐席(agent)" in err.value.reason
    with pytest.raises(ValidationError) as err:
        Actor("  ", "agent")
    assert err.value.field == "user"


# ------------------------------------------------------------------ the table
def test_the_table_gives_agents_their_seat_and_editors_the_knowledge() -> None:
    seat_actions = {"workorder.save", "feedback.add", "search.log", "shift.end"}
    for action in permissions.PERMISSIONS:
        assert permissions.allowed(agent("坐席"), action) == (action in seat_actions), action
        assert permissions.allowed(ADMIN, action), action  # the local administrator may do everything
    for role in EDITOR_ROLES:
        assert permissions.allowed(Actor("编辑", role), "entry.edit")
        assert not permissions.allowed(Actor("编辑", role), "user.manage") or role == "admin"
    assert not permissions.allowed(ADMIN, "no.such.action")  # an action nobody declared is refused


def test_every_role_in_the_table_is_a_role_of_the_vocabulary() -> None:
    for roles, label in permissions.PERMISSIONS.values():
        assert roles and roles <= set(ROLES.codes) and label


def test_a_refusal_says_what_and_who_may() -> None:
    with pytest.raises(PermissionDenied) as err:
        permissions.require(agent("张敏"), "entry.edit")
    assert err.value.action == "entry.edit"
    text = str(err.value)
    assert text.startswith("没有权限：编辑知识条目") and "知识编辑" in text and "张敏" in text and "坐席" in text


def test_the_publishing_rule_needs_a_second_person_with_the_role(sqlite_kb: KnowledgeBase) -> None:
    add_departments(sqlite_kb)
    view, _ = sqlite_kb.entries.save(draft(), actor=editor("alice"))
    review, _ = sqlite_kb.entries.transition(view.id, "review", actor=editor("alice"))
    assert not permissions.can_publish(editor("alice"), review)  # the author
    assert not permissions.can_publish(agent("bob"), review)  # not an editor role
    assert permissions.can_publish(Actor("bob", "reviewer"), review)
    assert not permissions.can_publish(Actor("bob", "reviewer"), view)  # a draft is not in review
    with pytest.raises(PermissionDenied, match="审核人"):
        sqlite_kb.entries.transition(view.id, "published", actor=editor("alice"))
    with pytest.raises(PermissionDenied, match="没有权限"):
        sqlite_kb.entries.transition(view.id, "published", actor=agent("bob"))
    published, _ = sqlite_kb.entries.transition(view.id, "published", actor=Actor("bob", "reviewer"))
    assert published.status == "published" and published.reviewed_by == "bob"


# ------------------------------------------------------------------ enforced in the services
def test_an_agent_changes_no_knowledge_and_nothing_is_written(sqlite_kb: KnowledgeBase) -> None:
    kb = sqlite_kb
    add_departments(kb)
    entry, _ = kb.entries.save(draft(), actor=editor("alice"))
    kb.directory.save_script({"external_id": "S-1", "kind": "greeting", "title": "开场白", "body": "您好"},
                             actor=editor("alice"))
    kb.directory.save_rule({"external_id": "R-1", "department": "D-CY"}, actor=editor("alice"))
    seat = agent("坐席甲")
    writes: dict[str, Callable[[], object]] = {
        "save entry": lambda: kb.entries.save(draft(title="新条目"), actor=seat),
        "transition": lambda: kb.entries.transition(entry.id, "review", actor=seat),
        "rollback": lambda: kb.entries.rollback(entry.id, 1, actor=seat),
        "delete entry": lambda: kb.entries.delete(entry.id, actor=seat),
        "keep theirs": lambda: kb.entries.keep_theirs(entry.id, actor=seat, expected_revision=entry.revision,
                                                      detail={}),
        "publish due": lambda: kb.entries.publish_due(actor=seat),
        "expire due": lambda: kb.entries.expire_due(actor=seat),
        "department": lambda: kb.directory.save_department({"name": "新单位"}, actor=seat),
        "script": lambda: kb.directory.save_script({"kind": "greeting", "title": "x", "body": "y"}, actor=seat),
        "delete script": lambda: kb.directory.delete_script("S-1", actor=seat),
        "rule": lambda: kb.directory.save_rule({"department": "D-CY"}, actor=seat),
        "delete rule": lambda: kb.directory.delete_rule("R-1", actor=seat),
        "bulletin": lambda: kb.directory.save_bulletin({"title": "停水"}, actor=seat),
        "setting": lambda: kb.directory.set_setting("deadlines", {"rules": []}, actor=seat),
        "synonyms": lambda: kb.lexicons.set_synonyms([("医保卡", "社保卡")], actor=seat),
        "dictionary": lambda: kb.lexicons.set_dict_words([("接诉即办", None, "")], actor=seat),
        "alert lexicon": lambda: kb.lexicons.set_alert_records([], [], actor=seat),
        "gazetteer": lambda: kb.lexicons.set_places([{"district": "朝阳区"}], actor=seat),
        "resolve feedback": lambda: kb.feedback.resolve(entry.id, actor=seat),
        "create user": lambda: kb.users.create("someone", actor=seat),
        "import": lambda: import_rows(kb, "scripts", [(2, {"kind": "greeting", "title": "x", "body": "y"})],
                                      actor=seat),
    }
    before = (kb.revision(), kb.stats(), audit_rows(kb))
    for what, write in writes.items():
        with pytest.raises(PermissionDenied, match="没有权限"):
            write()
            pytest.fail(f"{what}: not refused")
        assert (kb.revision(), kb.stats(), audit_rows(kb)) == before, what
    assert kb.entries.get(entry.id).status == "draft" and kb.lexicons.synonyms() == {}


def test_an_agent_saves_the_call_and_its_feedback(sqlite_kb: KnowledgeBase) -> None:
    kb = sqlite_kb
    add_departments(kb)
    seat = agent("坐席甲")
    view, _ = kb.work_orders.save(WorkOrderDraft(id="w-1", received_at=datetime(2026, 11, 28, 9, 0),
                                                 text="咨询居住证办理"), actor=seat)
    assert view.created_by == "坐席甲"
    kb.feedback.add(None, "useful", actor=seat)
    kb.feedback.log_search("search", "居住证", 0, actor=seat)
    kb.users.end_shift(actor=seat, at=datetime(2026, 11, 28, 18, 0))
    assert kb.users.last_shift_end("坐席甲") == datetime(2026, 11, 28, 18, 0)


def test_users_and_settings_are_the_administrators(sqlite_kb: KnowledgeBase) -> None:
    kb = sqlite_kb
    with pytest.raises(PermissionDenied, match="管理用户"):
        kb.users.create("zhang", actor=editor("alice"), role="editor")
    with pytest.raises(PermissionDenied, match="修改全局设置"):
        kb.directory.set_setting("deadlines", {"rules": []}, actor=editor("alice"))
    kb.users.create("zhang", actor=ADMIN, role="editor", password="s3cret")
    kb.directory.set_setting("deadlines", {"rules": []}, actor=ADMIN)
    assert kb.users.verify("zhang", "s3cret") == "editor" and kb.directory.setting("deadlines") == {"rules": []}
    with kb.store.session() as s:
        who = {(a.user, a.action, a.object_kind) for a in s.scalars(select(m.AuditLog))}
    assert {("admin", "create", "user"), ("admin", "set", "setting")} <= who


# ------------------------------------------------------------------ the shape of the services
READERS = {  # public methods that change nothing (every other public method takes ``actor``)
    "entries": {"get", "get_many", "iter_all", "find", "history", "categories"},
    "directory": {"departments", "get_department", "scripts", "bulletins", "routing_rules", "setting"},
    "lexicons": {"synonyms", "dict_words", "alert_records", "places"},
    "work_orders": {"by_phone", "open_cases", "get", "iter_all"},
    "feedback": set(),
    "users": {"verify", "last_shift_end"},
}


def test_every_write_takes_an_actor_and_no_public_method_takes_a_session(sqlite_kb: KnowledgeBase) -> None:
    for area, readers in READERS.items():
        service = getattr(sqlite_kb, area)
        public = {n for n, f in inspect.getmembers(type(service), inspect.isfunction) if not n.startswith("_")}
        assert readers <= public, area
        for name in public:
            params = inspect.signature(getattr(type(service), name)).parameters
            annotations = " ".join(str(p.annotation) for p in params.values())
            assert "Session" not in annotations and "UnitOfWork" not in annotations, f"{area}.{name}"
            takes_actor = "actor" in params and params["actor"].kind is inspect.Parameter.KEYWORD_ONLY
            assert takes_actor == (name not in readers), f"{area}.{name}"
    for name, f in inspect.getmembers(KnowledgeBase, inspect.isfunction):
        if not name.startswith("_"):
            assert "actor" not in inspect.signature(f).parameters, name  # the facade only reads
    assert isinstance(sqlite_kb.store, Store) and UnitOfWork.__module__ == "kb.services.store"


def _class_lengths(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(f"{path.relative_to(ROOT)}:{node.name}", (node.end_lineno or node.lineno) - node.lineno + 1)
            for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def test_no_class_in_kb_is_a_monolith_and_the_services_stay_small() -> None:
    """Issue #12 item 2: the largest class in kb/ at most 450 lines, the service modules at most 700."""
    files = [p for p in (ROOT / "kb").rglob("*.py") if "migrations" not in p.parts]
    big = [(name, n) for p in files for name, n in _class_lengths(p) if n > 450]
    assert not big, big
    services = [ROOT / "kb" / "service.py", *(ROOT / "kb" / "services").glob("*.py")]
    long = [(str(p.relative_to(ROOT)), n) for p in services
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700]
    assert not long, long
