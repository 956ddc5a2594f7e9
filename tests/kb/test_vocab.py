"""The vocabulary (kb/vocab.py): every enumerated code declared once, read as a code or a label."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint, Connection

from kb import db, vocab
from kb import models as m
from kb.deadlines import DeadlineRule, rules_from_records
from kb.errors import ImportRejected, ValidationError

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("kb", "indexer", "desktop")


def _column_names() -> set[str]:
    return {c.name for table in m.Base.metadata.tables.values() for c in table.columns}


def _literal_strings(node: ast.AST) -> list[str] | None:
    """The string elements of a tuple/list/set literal, the string keys of a dict literal (None: not one)."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items: list[ast.expr | None] = list(node.elts)
    elif isinstance(node, ast.Dict):
        items = list(node.keys)
    else:
        return None
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def stray_code_lists(path: Path, root: Path = ROOT) -> list[str]:
    """Literals in ``path`` holding two or more codes of one vocabulary list.

    A code that is also a column name (``district``, ``street``, ``hours``) proves nothing on its own:
    ``("district", "street")`` is a pair of fields as often as a pair of department levels.
    """
    columns = _column_names()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        strings = _literal_strings(node)
        if not strings:
            continue
        for codes in vocab.ALL:
            hits = sorted({s for s in strings if s in codes})
            if len(hits) >= 2 and any(h not in columns for h in hits):
                found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)} {codes.title} {hits}")
                break
    return found


def scanned_files() -> list[Path]:
    files = [p for top in SCANNED for p in sorted((ROOT / top).rglob("*.py"))]
    return [p for p in files if p != ROOT / "kb" / "vocab.py" and "migrations" not in p.relative_to(ROOT).parts]


def test_every_code_list_is_declared_once_in_vocab() -> None:
    files = scanned_files()
    assert len(files) > 50 and ROOT / "kb" / "models.py" in files
    stray = [found for path in files for found in stray_code_lists(path)]
    assert not stray, "code lists outside kb/vocab.py (use or add a list there):\n" + "\n".join(stray)


def test_the_scan_finds_a_stray_list(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('OK = ("district", "street", "aliases")\n'
                      'LEVELS = ("city", "district")\n'
                      'ONE = ("complaint", "text")\n'
                      'BAD = {"answered": "closed", "transferred": "closed"}\n'
                      'def f(x: str) -> bool:\n    return x in ("danger", "urgent")\n', encoding="utf-8")
    found = stray_code_lists(sample, tmp_path)
    assert [f.split(" ")[0].rsplit(":", 1)[1] for f in found] == ["2", "4", "6"]
    assert "单位层级" in found[0] and "办理方式" in found[1] and "紧急程度" in found[2]


@pytest.mark.parametrize("codes", vocab.ALL, ids=lambda c: f"{c.name}:{c.title}")
def test_every_code_label_and_alias_reads_back_as_its_code(codes: vocab.Codes) -> None:
    for code, label in codes.items():
        assert codes.parse(code) == code
        assert codes.parse(f"  {label} ") == code
        assert codes.parse(code.upper()) == code
        assert codes.label(code) == label
    for alias, code in codes.aliases.items():
        assert codes.parse(alias) == code
    assert codes.default in codes and set(codes.keys) <= set(codes)


def test_anything_else_is_a_chinese_error_on_the_field() -> None:
    with pytest.raises(ValidationError) as bad:
        vocab.REQUEST_TYPES.parse("投拆")
    assert bad.value.field == "request_type" and "“投拆”不是有效的诉求类型" in bad.value.reason
    assert "投诉(complaint)" in bad.value.reason
    with pytest.raises(ValidationError) as empty:
        vocab.URGENCIES.parse(" ", "urgency_column")
    assert empty.value.field == "urgency_column" and "空值" in empty.value.reason
    with pytest.raises(ValidationError):
        vocab.ROLES.parse(None)


def test_a_list_that_would_read_one_spelling_as_two_codes_is_refused() -> None:
    with pytest.raises(ValueError, match="two codes"):
        vocab.Codes("x", "测试", {"a": "甲", "b": "甲"})
    with pytest.raises(ValueError, match="alias"):
        vocab.Codes("x", "测试", {"a": "甲", "b": "乙"}, aliases={"乙": "a"})
    with pytest.raises(ValueError, match="identifier"):
        vocab.Codes("x", "测试", {"甲": "甲"})
    with pytest.raises(TypeError):
        vocab.REQUEST_TYPES.labels["x"] = "y"  # type: ignore[index]


def test_check_constraints_are_the_vocabulary() -> None:
    constraints = {c.name: str(c.sqltext) for t in m.Base.metadata.tables.values() for c in t.constraints
                   if isinstance(c, CheckConstraint) and isinstance(c.name, str) and c.name.startswith("ck_")}
    assert constraints == {
        "ck_department_level": vocab.DEPARTMENT_LEVELS.check_sql("level"),
        "ck_entry_status": vocab.ENTRY_STATUSES.check_sql("status"),
        "ck_wo_request_type": vocab.REQUEST_TYPES.check_sql("request_type"),
        "ck_wo_handling": vocab.HANDLINGS.check_sql("handling"),
        "ck_wo_status": vocab.WORKORDER_STATUSES.check_sql("status"),
        "ck_user_role": vocab.ROLES.check_sql("role"),
    }


def test_migration_0003_takes_the_roles_of_the_glossary(db_url: str) -> None:
    """A base of 0002 keeps its users; the new roles are accepted after, an unknown one still refused."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    def add_user(conn: Connection, name: str, role: str) -> None:
        conn.execute(text("INSERT INTO app_user (username, display_name, role, password_hash, active) "
                          "VALUES (:u, '', :r, '', :a)"), {"u": name, "r": role, "a": True})

    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn), "0002")
            add_user(conn, "lead", "admin")
        with pytest.raises(IntegrityError), engine.begin() as conn:
            add_user(conn, "duty", "supervisor")
        assert db.upgrade(engine) is True
        assert db.schema_revision(engine) == db.HEAD_REVISION == "0003"
        with engine.begin() as conn:
            for role in ("supervisor", "dispatcher", "followup"):
                add_user(conn, f"u_{role}", role)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            add_user(conn, "boss", "boss")
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the rebuilt table kept its unique name
            add_user(conn, "lead", "agent")
        with engine.connect() as conn:
            users: dict[str, str] = dict(conn.execute(text("SELECT username, role FROM app_user")).all())
        assert users == {"lead": "admin", "u_supervisor": "supervisor", "u_dispatcher": "dispatcher",
                         "u_followup": "followup"}
        assert set(vocab.ROLES) == {"agent", "editor", "reviewer", "admin", *(r for r in users.values())}
        with engine.begin() as conn:  # back to 0002 once nobody holds a new role
            conn.execute(text("DELETE FROM app_user WHERE username LIKE 'u_%'"))
            command.downgrade(db._alembic_config(conn), "0002")
        with pytest.raises(IntegrityError), engine.begin() as conn:
            add_user(conn, "duty", "supervisor")
    finally:
        engine.dispose()


def test_deadline_rules_take_codes_or_labels() -> None:
    rules = rules_from_records([{"request_type": "投诉", "urgency": "一般", "amount": 5, "unit": "工作日"},
                                {"request_type": "*", "urgency": "特急", "amount": 1, "unit": "Hours"}])
    assert rules == [DeadlineRule("complaint", "normal", 5, "working_days"), DeadlineRule("*", "danger", 1, "hours")]
    with pytest.raises(ImportRejected) as bad:
        rules_from_records([{"request_type": "投拆", "urgency": "一般", "amount": 5, "unit": "周"}])
    problems = {e.field: e.reason for e in bad.value.errors}
    assert set(problems) == {"request_type", "unit"}
    assert "投诉(complaint)" in problems["request_type"] and "工作日(working_days)" in problems["unit"]


def test_the_named_alert_polarities_are_the_vocabulary_in_order() -> None:
    from kb import alerts

    assert alerts.POLARITIES == vocab.ALERT_POLARITIES.codes == (
        alerts.TRIGGER, alerts.EXCLUDE, alerts.CUE, alerts.EXAMPLE, alerts.COUNTER)
    assert set(alerts.SENTENCE_POLARITIES) <= set(vocab.ALERT_POLARITIES)
