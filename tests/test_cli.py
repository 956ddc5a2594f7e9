"""The `huiyin` command line as users script it: messages, exit codes, files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("huiyin")
    assert main(["--basedir", str(base), "init"]) == EXIT_OK
    return base


def test_init_and_check(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--basedir", str(initialised), "init")
    assert code == EXIT_OK and "已有数据" in out
    code, out, _ = run(capsys, "--basedir", str(initialised), "check")
    assert code == EXIT_OK and "已过期 expired" in out and "（2024年版）" in out
    code, out, _ = run(capsys, "--basedir", str(initialised), "check", "--json")
    kinds = {i["kind"] for i in json.loads(out)}
    assert {"expired", "expiring"} <= kinds


def test_export_import_round_trip(initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    assert run(capsys, "--basedir", str(empty), "init", "--empty")[0] == EXIT_OK
    for kind in ("departments", "entries", "scripts", "rules"):
        path = tmp_path / f"{kind}.xlsx"
        assert run(capsys, "--basedir", str(initialised), "export", "--kind", kind, str(path))[0] == EXIT_OK
        code, _, err = run(capsys, "--basedir", str(empty), "import", str(path), "--kind", kind)
        assert code == EXIT_OK, err
    for kind in ("departments", "entries", "scripts", "rules"):
        a, b = tmp_path / f"a-{kind}.jsonl", tmp_path / f"b-{kind}.jsonl"
        run(capsys, "--basedir", str(initialised), "export", "--kind", kind, str(a))
        run(capsys, "--basedir", str(empty), "export", "--kind", kind, str(b))
        assert a.read_text("utf-8") == b.read_text("utf-8"), kind
    # export creates no folders: a missing one is bad input
    code = main(["--basedir", str(initialised), "export", "--kind", "entries", str(tmp_path / "missing" / "e.csv")])
    assert code == EXIT_BAD_INPUT and "文件夹不存在" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_bad_import_exit_code_and_message(initialised: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,title,answer,department\nX-1,标题,口径,不存在的单位\n", encoding="utf-8")
    code, _, err = run(capsys, "--basedir", str(initialised), "import", str(bad), "--kind", "entries")
    assert code == EXIT_BAD_INPUT
    assert "第 2 行" in err and "department" in err and "未做任何更改" in err
    code, _, _ = run(capsys, "--basedir", str(initialised), "import", str(bad), "--kind", "entries", "--dry-run")
    assert code == EXIT_BAD_INPUT


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["export", "--kind", "nonsense", "x.csv"])
    assert exc.value.code == EXIT_USAGE
    assert "用法错误" in capsys.readouterr().err


def test_entry_history_and_rollback(initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = str(initialised)
    path = tmp_path / "edit.jsonl"
    code, out, _ = run(capsys, "--basedir", base, "entry", "history", "E-0001", "--json")
    original = json.loads(out)[-1]["snapshot"]
    path.write_text(json.dumps({**original, "answer": "临时改错的口径"}, ensure_ascii=False) + "\n", "utf-8")
    assert run(capsys, "--basedir", base, "import", str(path), "--kind", "entries")[0] == EXIT_OK
    versions = json.loads(run(capsys, "--basedir", base, "entry", "history", "E-0001", "--json")[1])
    code, out, _ = run(capsys, "--basedir", base, "entry", "rollback", "E-0001", str(versions[-2]["revision"]))
    assert code == EXIT_OK and "已回滚" in out
    latest = json.loads(run(capsys, "--basedir", base, "entry", "history", "E-0001", "--json")[1])[-1]
    assert latest["action"] == "rollback" and latest["snapshot"]["answer"] == original["answer"]
    assert run(capsys, "--basedir", base, "entry", "rollback", "E-0001", "999")[0] == EXIT_BAD_INPUT


def test_console_script_is_installed() -> None:
    proc = subprocess.run([sys.executable, "-m", "desktop", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("huiyin ")


@pytest.mark.parametrize("argv", [
    ["index", "rebuild", "--json"], ["index", "status", "--json"], ["check", "--json"],
    ["search", "医保", "--json"], ["search", "不存在的东西", "--json"], ["suggest", "我家暖气不热", "--json"],
    ["entry", "history", "E-0001", "--json"],
], ids=lambda a: "-".join(a[:2]))
def test_json_output_is_json_only(initialised: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, "--basedir", str(initialised), *argv)
    assert code == EXIT_OK, err
    json.loads(out)  # the whole of stdout is one JSON document


def test_search_limit_is_respected(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--basedir", str(initialised), "search", "医保", "--limit", "1", "--json")
    assert code == EXIT_OK and len(json.loads(out)["hits"]) == 1
