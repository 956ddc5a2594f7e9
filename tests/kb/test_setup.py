"""Set-up is all or nothing, and a seat knows when its safety lexicon is incomplete (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from kb import db, sample
from kb import models as m
from kb.errors import StorageError
from kb.resources import resource_path
from kb.sample import SAMPLE_FILES, check_lexicon, open_and_set_up, read_jsonl, set_up
from kb.service import KnowledgeBase
from kb.services.lexicons import LexiconService
from tests.conftest import Clock
from tests.helpers import editor


def shipped_triggers() -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in read_jsonl(resource_path("sample/alert_terms.jsonl")):
        if t["polarity"] == "trigger":
            counts[t["kind"]] = counts.get(t["kind"], 0) + 1
    return counts


def shipped_kinds() -> set[str]:
    return {k["kind"] for k in read_jsonl(resource_path("sample/alert_kinds.jsonl"))}


@pytest.fixture
def fresh(db_url: str, clock: Clock) -> Iterator[KnowledgeBase]:
    """A knowledge base on an empty database: no schema yet."""
    base = KnowledgeBase.open(db_url, upgrade=False, clock=clock)
    yield base
    base.close()


def test_set_up_loads_everything_on_an_empty_database(fresh: KnowledgeBase) -> None:
    result = set_up(fresh)
    assert result.migrated and {r.kind for r in result.loaded} >= {"entries", "departments"}
    assert result.lexicon.ok, result.lexicon.problems()
    terms, kinds = fresh.lexicons.alert_records()
    assert len(terms) == len(read_jsonl(resource_path("sample/alert_terms.jsonl")))
    assert {k["kind"] for k in kinds} == shipped_kinds()
    assert len(fresh.lexicons.places()) == len(read_jsonl(resource_path("sample/gazetteer.jsonl")))
    assert set_up(fresh).loaded == []  # a second start finds the work done


def test_a_failed_set_up_leaves_nothing_behind(fresh: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue: entries loaded, then the lexicon failed; the next start saw data and ran without alerts."""
    def fail(*_a: Any, **_k: Any) -> None:
        raise StorageError("数据库错误 (database)：value too long for type character varying(300)")

    monkeypatch.setattr(LexiconService, "set_places", fail)  # the last step of the load
    with pytest.raises(StorageError):
        set_up(fresh)
    assert not db.has_tables(fresh.store.engine)  # not even the schema: the next start begins again
    monkeypatch.undo()
    result = set_up(fresh)
    assert result.loaded and result.lexicon.ok
    assert fresh.stats().entries == len(read_jsonl(resource_path("sample/entries.jsonl")))


def test_an_empty_set_up_still_loads_the_safety_lexicon(fresh: KnowledgeBase) -> None:
    result = set_up(fresh, sample=False)
    assert result.loaded == [] and result.lexicon.ok
    assert fresh.is_empty() and fresh.lexicons.alert_records()[0] and fresh.lexicons.places()


def _drop_kind(kb: KnowledgeBase, kind: str) -> None:
    with kb.store.session() as s:
        s.execute(delete(m.AlertTermRow).where(m.AlertTermRow.kind == kind))
        s.execute(delete(m.AlertKindRow).where(m.AlertKindRow.kind == kind))


def test_an_incomplete_lexicon_is_reported_and_repaired(fresh: KnowledgeBase) -> None:
    set_up(fresh)
    custom = {"kind": "medical", "pattern": "本中心自加的急救词", "polarity": "trigger", "note": "中心自加"}
    terms, kinds = fresh.lexicons.alert_records()
    fresh.lexicons.set_alert_records([*terms, custom], kinds, actor=editor("editor"))
    _drop_kind(fresh, "fire")
    with fresh.store.session() as s:  # most of the police triggers gone
        ids = s.scalars(select(m.AlertTermRow.id).where(m.AlertTermRow.kind == "police",
                                                        m.AlertTermRow.polarity == "trigger")).all()
        s.execute(delete(m.AlertTermRow).where(m.AlertTermRow.id.in_(ids[: len(ids) * 3 // 4])))

    check = check_lexicon(fresh)
    assert not check.ok and check.missing_kinds == ("fire",)
    assert [k for k, _, _ in check.thin_kinds] == ["police"]
    text = "\n".join(check.problems())
    assert "火警" in text and "治安" in text

    result = set_up(fresh, sample=True)  # init on a non-empty base: no sample reload, but the lexicon is repaired
    assert result.loaded == [] and result.repaired and result.lexicon.ok
    stored = {(t["kind"], t["pattern"], t["polarity"]) for t in fresh.lexicons.alert_records()[0]}
    assert ("medical", "本中心自加的急救词", "trigger") in stored  # the center's own lines stay
    assert sum(1 for k, _, p in stored if k == "fire" and p == "trigger") == shipped_triggers()["fire"]


def test_the_app_start_reports_but_does_not_rewrite_an_edited_lexicon(fresh: KnowledgeBase) -> None:
    set_up(fresh, sample=False)
    _drop_kind(fresh, "traffic")
    result = set_up(fresh, sample=False, repair=False)
    assert not result.lexicon.ok and result.lexicon.missing_kinds == ("traffic",) and not result.repaired
    assert "traffic" not in {k["kind"] for k in fresh.lexicons.alert_records()[1]}


def test_a_base_left_without_alert_lines_gets_them_at_the_next_start(fresh: KnowledgeBase) -> None:
    """The state the old init left on PostgreSQL: entries loaded, 0 alert lines and 0 places."""
    set_up(fresh)
    with fresh.store.session() as s:
        s.execute(delete(m.AlertTermRow))
        s.execute(delete(m.AlertKindRow))
        s.execute(delete(m.Place))
    check = check_lexicon(fresh)
    assert not check.ok and set(check.missing_kinds) == shipped_kinds() and check.places == 0
    assert "地名库为空" in check.summary()

    result = set_up(fresh, repair=False)  # the app's start: no alert kind at all is never a choice
    assert result.lexicon.ok and result.repaired and result.loaded == []
    assert fresh.lexicons.places() == []  # the gazetteer is the city's own business: left to init
    result = set_up(fresh)  # huiyin init
    assert len(fresh.lexicons.places()) == len(read_jsonl(resource_path("sample/gazetteer.jsonl")))


def test_open_and_set_up_returns_an_open_base(db_url: str) -> None:
    kb, result = open_and_set_up(db_url, sample=False)
    try:
        assert result.lexicon.ok and db.schema_revision(kb.store.engine) == db.HEAD_REVISION
        assert sample.check_lexicon(kb).ok
    finally:
        kb.close()


def test_two_processes_setting_up_one_sqlite_file_at_once(tmp_path: Path) -> None:
    """SQLite: the second process waits on the write lock (BEGIN IMMEDIATE), then finds the work done."""
    url = f"sqlite:///{tmp_path}/kb.sqlite3"
    code = ("import sys; from kb.sample import open_and_set_up; "
            "kb, r = open_and_set_up(sys.argv[1]); print(len(r.loaded), r.lexicon.ok); kb.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(out.split() for out, _ in outs) == [["0", "True"], [str(len(SAMPLE_FILES)), "True"]]
    kb = KnowledgeBase.open(url)
    try:
        assert kb.stats().entries == len(read_jsonl(resource_path("sample/entries.jsonl")))
    finally:
        kb.close()


def test_migration_0002_carries_an_existing_database_along(db_url: str) -> None:
    """A base created by the first release (VARCHAR(300) patterns) keeps its rows and takes long lines after."""
    from alembic import command
    from sqlalchemy import Text, inspect, text

    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            cfg = db._alembic_config(conn)
            command.upgrade(cfg, "0001")
            conn.execute(text("INSERT INTO alert_kind (kind, label, transfer_to, script, severity) "
                              "VALUES ('fire', '火警', '119', '请离开。', 100)"))
            conn.execute(text("INSERT INTO alert_term (kind, pattern, polarity, note) "
                              "VALUES ('fire', '煤气味', 'trigger', '')"))
        assert db.upgrade(engine) is True
        assert db.schema_revision(engine) == db.HEAD_REVISION
        if engine.dialect.name == "postgresql":  # SQLite never enforced the length: nothing to alter there
            columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("alert_term")}
            assert isinstance(columns["pattern"], Text)
    finally:
        engine.dispose()
    kb = KnowledgeBase.open(db_url)
    try:
        terms, kinds = kb.lexicons.alert_records()
        assert [t["pattern"] for t in terms] == ["煤气味"] and kinds[0]["transfer_to"] == "119"
        long_line = "(" + "|".join(f"{i}号楼" for i in range(1, 80)) + ")…煤气味"
        assert len(long_line) > 300
        kb.lexicons.set_alert_records([*terms, {"kind": "fire", "pattern": long_line, "polarity": "trigger",
                                                "note": ""}],
                                      kinds, actor=editor("editor"))
        assert long_line in {t["pattern"] for t in kb.lexicons.alert_records()[0]}
    finally:
        kb.close()
