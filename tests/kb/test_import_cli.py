"""``huiyin import`` as users run it, on SQLite and PostgreSQL: exit codes, counts, --replace, --sheet."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from desktop.cli import EXIT_BAD_INPUT, EXIT_ENV, EXIT_OK, EXIT_USAGE, main
from kb import exchange
from kb.service import KnowledgeBase
from tests.kb.test_exchange import write_jsonl
from tests.kb.test_import_replace import PLACES

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """``huiyin --basedir … --db URL ARGS`` on a base set up with ``init --empty`` (alert lexicon and gazetteer)."""
    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(["--basedir", str(tmp_path / "home"), "--db", db_url, *argv])
        except SystemExit as exc:  # argparse: a usage error
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    assert run("init", "--empty")[0] == EXIT_OK
    return run


def test_places_import_merges_and_replace_deletes(cli: Run, db_url: str, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(db_url)
    gazetteer = len(kb.lexicons.places())  # the shipped one, 300-odd districts and streets
    assert gazetteer > 300
    one = write_jsonl(tmp_path / "one.jsonl", [{"district": "朝阳区", "street": "望京街道",
                                                "aliases": ["望京", "望京西"]}])
    code, out, err = cli("import", str(one), "--kind", "places")
    assert code == EXIT_OK, err
    assert "新增 created 0" in out and "更新 updated 1" in out and "删除" not in out
    assert len(kb.lexicons.places()) == gazetteer
    code, out, _ = cli("import", str(one), "--kind", "places", "--replace", "--dry-run")
    assert code == EXIT_OK and f"删除 deleted {gazetteer - 1}" in out and len(kb.lexicons.places()) == gazetteer
    code, out, _ = cli("import", str(one), "--kind", "places", "--replace")
    assert code == EXIT_OK and f"删除 deleted {gazetteer - 1}" in out
    assert [p["street"] for p in kb.lexicons.places()] == ["望京街道"]
    kb.close()


def test_replace_of_a_kind_that_only_adds_is_bad_input(cli: Run, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [{"kind": "greeting", "title": "开场白", "body": "您好"}])
    code, _, err = cli("import", str(path), "--kind", "scripts", "--replace")
    assert code == EXIT_BAD_INPUT and "replace" in err and "Traceback" not in err


# The command line checks its file arguments before running (a usage error, exit 2); either way the
# input is wrong, never the environment (exit 3).
NOT_ENVIRONMENT = (EXIT_BAD_INPUT, EXIT_USAGE)


def test_missing_file_and_directory_are_bad_input(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("import", str(tmp_path / "nope.xlsx"))
    assert code in NOT_ENVIRONMENT and "文件不存在" in err
    code, _, err = cli("import", str(tmp_path))
    assert code in NOT_ENVIRONMENT and "文件夹" in err


def test_notes_and_sheet_option(cli: Run, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["kind", "title", "body"])
    wb.active.append(["greeting", "说明页", "这一页不该导入"])
    ws = wb.create_sheet("话术")
    ws.append(["kind", "title", "body", "备注"])
    ws.append(["greeting", "开场白", "您好，12345。", "无"])
    wb.save(tmp_path / "s.xlsx")
    code, out, err = cli("import", str(tmp_path / "s.xlsx"), "--kind", "scripts", "--dry-run")
    assert code == EXIT_OK and "第一个工作表" in out + err
    code, out, err = cli("import", str(tmp_path / "s.xlsx"), "--kind", "scripts", "--sheet", "话术")
    assert code == EXIT_OK and "新增 created 1" in out and "备注" in out + err
    code, _, err = cli("import", str(tmp_path / "s.xlsx"), "--kind", "scripts", "--sheet", "汇总")
    assert code == EXIT_BAD_INPUT and "汇总" in err


def test_bad_boolean_lists_the_row(cli: Run, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"external_id": "D-1", "name": "某局", "active": "停用"},
                                             {"external_id": "D-2", "name": "某办", "active": "关"}])
    code, _, err = cli("import", str(path), "--kind", "departments")
    assert code == EXIT_BAD_INPUT and "第 2 行" in err and "active" in err


@pytest.mark.pg
def test_import_while_another_runs_exits_3_with_a_message(cli: Run, db_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's advisory lock")
    monkeypatch.setattr(exchange, "IMPORT_LOCK_WAIT_S", 0.5)
    path = write_jsonl(tmp_path / "p.jsonl", PLACES)
    assert cli("import", str(path), "--kind", "places")[0] == EXIT_OK
    kb = KnowledgeBase.open(db_url)
    with kb.store.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": exchange.IMPORT_LOCK_KEY})
        code, _, err = cli("import", str(path), "--kind", "places")
        other.rollback()
    kb.close()
    assert code == EXIT_ENV and "另一个导入正在进行" in err and "Traceback" not in err


def test_real_entry_point_missing_file(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "huiyin"
    proc = subprocess.run([str(exe), "--basedir", str(tmp_path), "import", str(tmp_path / "nope.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in NOT_ENVIRONMENT and "文件不存在" in proc.stderr and "Traceback" not in proc.stderr
