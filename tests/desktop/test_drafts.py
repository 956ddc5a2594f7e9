"""The draft file holds a WorkOrderDraft (and what the window shows beside it); drafts of version 1 still read.

And the forms offer the codes of kb.vocab.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QComboBox

from desktop.drafts import DRAFT_VERSION, Call, DraftStore, Outbox
from desktop.tasks import TaskManager
from kb import vocab
from kb.dto import WorkOrderDraft
from tests.desktop.conftest import Env

RECEIVED = datetime(2026, 12, 1, 9, 30, 5)
DUE = datetime(2026, 12, 3, 18, 0)

# What the version 1 CallDraft wrote (one flat record, ISO strings, "" for no deadline).
VERSION_1 = {"version": 1, "id": "5b0c8f43-7d1e-4c55-9a0e-0b4d2f6a1c11", "received_at": "2026-12-01T09:30:05",
             "phone": "13812345678", "caller_name": "王女士", "address": "三里屯路 1 号", "district": "朝阳区",
             "street": "三里屯街道", "request_type": "complaint", "text": "暖气不热", "handling": "dispatched",
             "department": "D-CY-SLT", "due_at": "2026-12-03T18:00:00", "urgency": "urgent",
             "category": "供暖/供暖质量", "entry": "E-1", "entry_title": "暖气不热找谁", "query": "暖气",
             "saved": False}


def a_call(**over: object) -> Call:
    values: dict[str, object] = dict(received_at=RECEIVED, text="暖气不热", phone="13812345678",
                                     request_type="complaint", handling="dispatched", department="D-CY-SLT",
                                     due_at=DUE, urgency="urgent", entry="E-1", entry_title="暖气不热找谁",
                                     query="暖气")
    values.update(over)
    return Call(**values)  # type: ignore[arg-type]


def test_the_file_holds_the_work_order_and_the_view_apart(tmp_path: Path) -> None:
    call = a_call()
    store = DraftStore(tmp_path)
    assert store.save(call) and not store.save(call)  # an unchanged draft is not written again
    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert data["version"] == DRAFT_VERSION == 2
    assert data["view"] == {"entry_title": "暖气不热找谁", "query": "暖气", "saved": False}
    order = {f.name for f in fields(WorkOrderDraft)}
    assert set(data) == order | {"version", "view"}
    assert (data["received_at"], data["due_at"], data["request_type"]) == ("2026-12-01 09:30:05",
                                                                          "2026-12-03 18:00:00", "complaint")
    assert store.load() == call


def test_a_version_1_draft_and_outbox_still_read(tmp_path: Path) -> None:
    (tmp_path / "current.json").write_text(json.dumps(VERSION_1, ensure_ascii=False), encoding="utf-8")
    call = DraftStore(tmp_path).load()
    assert call == a_call(id=VERSION_1["id"], caller_name="王女士", address="三里屯路 1 号", district="朝阳区",
                          street="三里屯街道", category="供暖/供暖质量")
    outbox = Outbox(tmp_path)
    outbox.directory.mkdir()
    (outbox.directory / "old.json").write_text(json.dumps({**VERSION_1, "due_at": ""}), encoding="utf-8")
    [queued] = outbox.items()
    assert queued.due_at is None and queued.received_at == RECEIVED
    outbox.refused_dir.mkdir()
    (outbox.refused_dir / "old.json").write_text(
        json.dumps({**VERSION_1, "refused": {"reason": "地址过长", "field": "address"}}), encoding="utf-8")
    [refused] = outbox.refused()
    assert (refused.draft.text, refused.reason, refused.field) == ("暖气不热", "地址过长", "address")


def test_a_broken_draft_is_skipped_not_a_crash(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.put(a_call())
    (outbox.directory / "bad-date.json").write_text(json.dumps({**VERSION_1, "received_at": "昨天"}),
                                                    encoding="utf-8")
    (outbox.directory / "bad-type.json").write_text(json.dumps({**VERSION_1, "text": 5}), encoding="utf-8")
    assert [c.text for c in outbox.items()] == ["暖气不热"]
    store = DraftStore(tmp_path)
    store.path.write_text(json.dumps({**VERSION_1, "saved": "no"}), encoding="utf-8")
    assert store.load() is None


def test_the_work_order_sent_is_a_plain_work_order_draft() -> None:
    call = a_call()
    order = call.work_order(seat="0123")
    assert type(order) is WorkOrderDraft
    assert (order.department, order.due_at, order.seat, order.request_type) == ("D-CY-SLT", DUE, "0123",
                                                                                "complaint")
    answered = call.with_(handling="answered").work_order()
    assert (answered.department, answered.due_at) == ("", None)  # only a dispatched order has them
    assert call.same_order(call.with_(query="别的", entry_title="别的", saved=True))
    assert not call.same_order(call.with_(text="暖气不热了"))


def test_a_new_call_has_an_id_and_the_time_it_came_in() -> None:
    first, second = Call(), Call()
    assert first.id != second.id and first.is_blank
    assert abs((datetime.now() - first.received_at).total_seconds()) < 5 and first.received_at.microsecond == 0
    assert (first.request_type, first.handling, first.urgency) == (WorkOrderDraft.request_type,
                                                                  WorkOrderDraft.handling, WorkOrderDraft.urgency)


def test_the_forms_offer_the_vocabulary(qtbot: object, env: Env, tasks: TaskManager) -> None:
    """The call form's combo boxes and the settings' roles are kb.vocab's lists, labels shown, codes kept."""
    from desktop.dialogs.settings_dialog import SettingsDialog
    from desktop.widgets.call_form import CallForm

    def offered(combo: QComboBox) -> list[tuple[str, str]]:
        return [(str(combo.itemData(i)), combo.itemText(i)) for i in range(combo.count())]

    form = CallForm()
    qtbot.addWidget(form)  # type: ignore[attr-defined]
    assert offered(form.request_type) == list(vocab.REQUEST_TYPES.items())
    assert offered(form.handling) == list(vocab.HANDLINGS.items())
    form.set_request_type("complaint")
    assert form.request_type.currentText() == "投诉" and form.read(Call()).request_type == "complaint"
    dialog = SettingsDialog(env.services(tasks, role="supervisor").settings, env.paths, tasks)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    assert offered(dialog.role) == list(vocab.ROLES.items())
    assert dialog.role.currentText() == "值班长" and dialog.result_settings().role == "supervisor"
