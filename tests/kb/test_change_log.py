"""Every kind of change writes a change-log row in its own transaction, and changes_since reports it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from kb.actor import Actor
from kb.dto import Changes, EntryDraft, WorkOrderDraft
from kb.exchange import import_rows
from kb.service import KnowledgeBase
from tests.helpers import IMPORT, agent, editor

ED = editor("ed")

ALERT_KIND = {"kind": "flood", "label": "内涝积水", "transfer_to": "119", "script": "请您马上离开低洼地带。",
              "severity": 90}
ALERT_TERMS = [{"kind": "flood", "pattern": "水漫进地下室", "polarity": "trigger", "note": ""}]


def _department(kb: KnowledgeBase) -> None:
    kb.directory.save_department({"external_id": "D-1", "name": "北京市水务局"}, actor=ED)


def _changes(kb: KnowledgeBase, act: Callable[[KnowledgeBase], object]) -> Changes:
    before = kb.revision()
    act(kb)
    after = kb.revision()
    assert after > before, "the change wrote no change-log row"
    return kb.changes_since(before)


KINDS: dict[str, tuple[Callable[[KnowledgeBase], object], Callable[[Changes], bool]]] = {
    "entry": (lambda kb: kb.entries.save(EntryDraft(title="停水通知", answer="请关注通知。"), actor=ED),
              lambda c: bool(c.entries_upserted)),
    "department": (_department, lambda c: c.departments),
    "script": (lambda kb: kb.directory.save_script({"kind": "opening", "title": "开场", "body": "您好，这里是12345。"},
                                                   actor=ED), lambda c: c.scripts),
    "rule": (lambda kb: kb.directory.save_rule({"department": "D-1", "keywords": "停水"}, actor=ED),
             lambda c: c.rules),
    "bulletin": (lambda kb: kb.directory.save_bulletin({"title": "今日停水", "body": "海淀区部分小区"}, actor=ED),
                 lambda c: c.bulletins),
    "setting": (lambda kb: kb.directory.set_setting("deadline_rules", {"rules": []}, actor=Actor("admin", "admin")),
                lambda c: c.settings),
    "synonym": (lambda kb: kb.lexicons.set_synonyms([("没水", "停水")], actor=ED),
                lambda c: c.synonyms and c.lexicon),
    "dictionary": (lambda kb: kb.lexicons.set_dict_words([("二次供水", None, "")], actor=ED),
                   lambda c: c.dictionary),
    "alert": (lambda kb: kb.lexicons.set_alert_records(ALERT_TERMS, [ALERT_KIND], actor=ED),
              lambda c: c.alerts and c.lexicon),
    "place": (lambda kb: kb.lexicons.set_places([{"district": "海淀区", "street": "学院路街道"}], actor=ED),
              lambda c: c.places and c.rules),
    "workorder": (lambda kb: kb.work_orders.save(WorkOrderDraft(id="wo-1", text="家里停水了",
                                                                received_at=datetime(2026, 11, 28, 9)),
                                                 actor=agent("a")), lambda c: c.workorders_saved),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_change_is_in_the_change_log(kb: KnowledgeBase, kind: str) -> None:
    if kind == "rule":
        _department(kb)
    act, reported = KINDS[kind]
    changes = _changes(kb, act)
    assert reported(changes), changes
    assert changes.revision == kb.revision()
    others = [k for k in KINDS if k != kind and KINDS[k][1](changes)]
    assert not others or (kind, others) == ("place", ["rule"]), others  # places also mean rules (the router)


def test_an_unchanged_list_or_setting_logs_nothing(kb: KnowledgeBase) -> None:
    for act, _ in (KINDS["synonym"], KINDS["alert"], KINDS["place"], KINDS["setting"], KINDS["dictionary"]):
        act(kb)
    rev = kb.revision()
    for act, _ in (KINDS["synonym"], KINDS["alert"], KINDS["place"], KINDS["setting"], KINDS["dictionary"]):
        act(kb)
    assert kb.revision() == rev


def test_a_list_logs_one_row_per_transaction_and_deletes_are_logged(kb: KnowledgeBase) -> None:
    rev = kb.revision()
    kb.lexicons.set_synonyms([(f"词{i}", f"官方{i}") for i in range(20)], actor=ED)
    assert kb.revision() == rev + 1
    _department(kb)
    kb.directory.save_rule({"external_id": "R-1", "department": "D-1", "keywords": "停水"}, actor=ED)
    rev = kb.revision()
    kb.directory.delete_rule("R-1", actor=ED)
    assert kb.changes_since(rev).rules
    rows = [(i, {"id": f"wo-{i}", "text": "停水", "received_at": "2026-11-28 09:00"}) for i in range(1, 6)]
    rev = kb.revision()
    import_rows(kb, "workorders", rows, actor=IMPORT)
    assert kb.revision() == rev + 1 and kb.changes_since(rev).workorders_saved


def test_changes_since_the_newest_revision_is_empty(kb: KnowledgeBase) -> None:
    KINDS["synonym"][0](kb)
    changes = kb.changes_since(kb.revision())
    assert changes.empty and changes.revision == kb.revision()
