"""Bad input to the ``huiyin`` command line: every command and option, the --jsonl worker, no display.

Each bad value must end in exit 1 (bad input) or 2 (usage error) with a one-line Chinese message on
stderr and no traceback; nothing is created on the way (no database, no parent folders).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.cli import EXIT_BAD_INPUT, EXIT_ENV, EXIT_OK, EXIT_USAGE, main

CJK = re.compile(r"[\u4e00-\u9fff]")
HUIYIN = Path(sys.executable).with_name("huiyin")
NOT_INITIALISED = "知识库尚未初始化：请先运行 huiyin init"


def call(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """Run ``huiyin argv`` in this process; argparse's SystemExit becomes the exit code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, codes: set[int]) -> str:
    assert code in codes, f"exit {code}, stderr: {err}"
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one message line, got: {err!r}"
    assert CJK.search(lines[0]), f"message is not Chinese: {lines[0]!r}"
    return lines[0]


@dataclass(frozen=True)
class Files:
    base: Path        # an initialised knowledge base
    fresh: Path       # a folder that does not exist (never initialised)
    file: Path        # a plain text file
    folder: Path      # an existing folder
    missing: Path     # a path that does not exist, in a folder that does not exist
    empty: Path       # a zero-byte .csv
    garbage_xlsx: Path
    latin1_csv: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("bad-input")
    base = root / "base"
    assert main(["--basedir", str(base), "init"]) == EXIT_OK
    (root / "note.txt").write_text("不是数据文件\n", encoding="utf-8")
    (root / "folder.csv").mkdir()
    (root / "empty.csv").write_bytes(b"")
    (root / "garbage.xlsx").write_bytes(b"\xff\xfe\x00not a zip")
    (root / "latin1.csv").write_bytes("external_id,title\nX-1,caf\xe9\n".encode("latin-1"))
    return Files(base=base, fresh=root / "never-initialised", file=root / "note.txt", folder=root / "folder.csv",
                 missing=root / "no-such-dir" / "sub" / "x.jsonl", empty=root / "empty.csv",
                 garbage_xlsx=root / "garbage.xlsx", latin1_csv=root / "latin1.csv")


BAD, USAGE = {EXIT_BAD_INPUT}, {EXIT_USAGE}
HUGE_TEXT = "暖气不热" * 10_000
# (id, argv built from the fixture files, allowed exit codes). Global options come first;
# "B" stands for ["--basedir", <the initialised base>].
ROWS: list[tuple[str, Callable[[Files], list[str]], set[int]]] = [
    # global options
    ("basedir-is-a-file", lambda f: ["--basedir", str(f.file), "search", "医保"], BAD | USAGE),
    ("basedir-empty", lambda f: ["--basedir", "", "search", "医保"], USAGE),
    ("basedir-no-value", lambda f: ["--basedir"], USAGE),
    ("db-empty", lambda f: ["--basedir", str(f.base), "--db", "", "search", "医保"], USAGE),
    ("db-not-a-url", lambda f: ["--basedir", str(f.base), "--db", "不是地址", "search", "医保"], USAGE),
    ("db-unsupported", lambda f: ["--basedir", str(f.base), "--db", "mysql://u@h/db", "search", "医保"], USAGE),
    ("db-sqlite-missing-file", lambda f: ["--basedir", str(f.base), "--db", f"sqlite:///{f.missing}", "check"], BAD),
    ("db-sqlite-is-a-folder", lambda f: ["--basedir", str(f.base), "--db", f"sqlite:///{f.folder}", "check"], BAD),
    ("db-sqlite-not-a-database", lambda f: ["--basedir", str(f.base), "--db", f"sqlite:///{f.file}", "check"], BAD),
    ("unknown-command", lambda f: ["--basedir", str(f.base), "frobnicate"], USAGE),
    ("unknown-option", lambda f: ["--basedir", str(f.base), "--frobnicate", "check"], USAGE),
    # init
    ("init-empty-and-force-sample", lambda f: ["--basedir", str(f.fresh), "init", "--empty", "--force-sample"], USAGE),
    ("init-extra-argument", lambda f: ["--basedir", str(f.fresh), "init", "extra"], USAGE),
    # import
    ("import-no-path", lambda f: ["--basedir", str(f.base), "import"], USAGE),
    ("import-empty-path", lambda f: ["--basedir", str(f.base), "import", ""], BAD),
    ("import-missing-file", lambda f: ["--basedir", str(f.base), "import", str(f.missing)], BAD),
    ("import-folder", lambda f: ["--basedir", str(f.base), "import", str(f.folder)], BAD),
    ("import-empty-file", lambda f: ["--basedir", str(f.base), "import", str(f.empty), "--kind", "entries"], BAD),
    ("import-bad-kind", lambda f: ["--basedir", str(f.base), "import", str(f.file), "--kind", "nope"], USAGE),
    ("import-unsupported-type", lambda f: ["--basedir", str(f.base), "import", str(f.file)], BAD | USAGE),
    ("import-not-xlsx", lambda f: ["--basedir", str(f.base), "import", str(f.garbage_xlsx), "--kind", "entries"],
     BAD),
    ("import-not-utf8", lambda f: ["--basedir", str(f.base), "import", str(f.latin1_csv), "--kind", "entries"], BAD),
    # export
    ("export-no-kind", lambda f: ["--basedir", str(f.base), "export", str(f.folder / "x.csv")], USAGE),
    ("export-bad-kind", lambda f: ["--basedir", str(f.base), "export", "--kind", "x", "a.csv"], USAGE),
    ("export-no-path", lambda f: ["--basedir", str(f.base), "export", "--kind", "entries"], USAGE),
    ("export-empty-path", lambda f: ["--basedir", str(f.base), "export", "--kind", "entries", ""], BAD),
    ("export-missing-folder", lambda f: ["--basedir", str(f.base), "export", "--kind", "entries", str(f.missing)],
     BAD),
    ("export-onto-a-folder", lambda f: ["--basedir", str(f.base), "export", "--kind", "entries", str(f.folder)],
     BAD),
    ("export-unsupported-type", lambda f: ["--basedir", str(f.base), "export", "--kind", "entries",
                                           str(f.folder / "x.docx")], BAD),
    # check
    ("check-extra-argument", lambda f: ["--basedir", str(f.base), "check", "now"], USAGE),
    # search
    ("search-no-query", lambda f: ["--basedir", str(f.base), "search"], BAD),
    ("search-empty-query", lambda f: ["--basedir", str(f.base), "search", ""], BAD),
    ("search-blank-query", lambda f: ["--basedir", str(f.base), "search", "   "], BAD),
    ("search-huge-query", lambda f: ["--basedir", str(f.base), "search", HUGE_TEXT], BAD),
    ("search-query-and-jsonl", lambda f: ["--basedir", str(f.base), "search", "医保", "--jsonl"], USAGE),
    ("search-json-and-jsonl", lambda f: ["--basedir", str(f.base), "search", "--json", "--jsonl"], USAGE),
    ("search-limit-text", lambda f: ["--basedir", str(f.base), "search", "医保", "--limit", "abc"], USAGE),
    ("search-limit-empty", lambda f: ["--basedir", str(f.base), "search", "医保", "--limit", ""], USAGE),
    ("search-limit-zero", lambda f: ["--basedir", str(f.base), "search", "医保", "--limit", "0"], USAGE),
    ("search-limit-negative", lambda f: ["--basedir", str(f.base), "search", "医保", "--limit=-3"], USAGE),
    ("search-limit-fraction", lambda f: ["--basedir", str(f.base), "search", "医保", "--limit", "1.5"], USAGE),
    ("search-limit-huge", lambda f: ["--basedir", str(f.base), "search", "医保", "--limit", str(10**12)], USAGE),
    # suggest
    ("suggest-no-text", lambda f: ["--basedir", str(f.base), "suggest"], BAD),
    ("suggest-empty-text", lambda f: ["--basedir", str(f.base), "suggest", ""], BAD),
    ("suggest-huge-text", lambda f: ["--basedir", str(f.base), "suggest", HUGE_TEXT * 3], BAD),
    ("suggest-limit-zero", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--limit", "0"], USAGE),
    ("suggest-limit-negative", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--limit=-1"], USAGE),
    ("suggest-limit-huge", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--limit", "99999999"], USAGE),
    ("suggest-limit-text", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--limit", "五"], USAGE),
    ("suggest-bad-request-type", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--request-type", "x"],
     USAGE),
    ("suggest-bad-phone", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--phone", "abc"], BAD),
    ("suggest-huge-phone", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--phone", "1" * 5000], BAD),
    ("suggest-huge-address", lambda f: ["--basedir", str(f.base), "suggest", "暖气不热", "--address", HUGE_TEXT],
     BAD),
    ("suggest-text-and-jsonl", lambda f: ["--basedir", str(f.base), "suggest", "暖气", "--jsonl"], USAGE),
    # index
    ("index-no-subcommand", lambda f: ["--basedir", str(f.base), "index"], USAGE),
    ("index-bad-subcommand", lambda f: ["--basedir", str(f.base), "index", "explode"], USAGE),
    # entry
    ("entry-no-subcommand", lambda f: ["--basedir", str(f.base), "entry"], USAGE),
    ("history-no-id", lambda f: ["--basedir", str(f.base), "entry", "history"], USAGE),
    ("history-empty-id", lambda f: ["--basedir", str(f.base), "entry", "history", ""], BAD | USAGE),
    ("history-unknown-id", lambda f: ["--basedir", str(f.base), "entry", "history", "NO-SUCH-ID"], BAD),
    ("rollback-no-version", lambda f: ["--basedir", str(f.base), "entry", "rollback", "E-0001"], USAGE),
    ("rollback-version-text", lambda f: ["--basedir", str(f.base), "entry", "rollback", "E-0001", "abc"], USAGE),
    ("rollback-version-zero", lambda f: ["--basedir", str(f.base), "entry", "rollback", "E-0001", "0"], USAGE),
    ("rollback-version-negative", lambda f: ["--basedir", str(f.base), "entry", "rollback", "E-0001", "-2"], USAGE),
    ("rollback-version-huge", lambda f: ["--basedir", str(f.base), "entry", "rollback", "E-0001", str(10**30)],
     BAD | USAGE),
    ("rollback-unknown-id", lambda f: ["--basedir", str(f.base), "entry", "rollback", "NO-SUCH-ID", "1"], BAD),
]


@pytest.mark.parametrize(("argv", "codes"), [pytest.param(a, c, id=i) for i, a, c in ROWS])
def test_bad_value_exits_1_or_2_with_one_chinese_line(files: Files, capsys: pytest.CaptureFixture[str],
                                                      argv: Callable[[Files], list[str]], codes: set[int]) -> None:
    code, _out, err = call(capsys, argv(files))
    assert_one_line_error(code, err, codes)
    assert not files.fresh.exists(), "a rejected command created the data folder"
    assert not files.missing.parent.parent.exists(), "a rejected command created a missing folder"
    assert not list(files.folder.iterdir()), "a rejected command wrote into a folder"


def test_export_does_not_create_missing_folders(files: Files, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a" / "b" / "entries.csv"
    code, _, err = call(capsys, ["--basedir", str(files.base), "export", "--kind", "entries", str(target)])
    line = assert_one_line_error(code, err, BAD)
    assert "文件夹不存在" in line and not (tmp_path / "a").exists()
    code, _, err = call(capsys, ["--basedir", str(files.base), "export", "--kind", "entries", str(tmp_path / "e.csv")])
    assert code == EXIT_OK, err


# ------------------------------------------------------------- never initialised
@pytest.mark.parametrize("argv", [
    ["search", "医保"], ["suggest", "暖气不热"], ["check"], ["index", "status"], ["entry", "history", "E-0001"],
    ["export", "--kind", "entries", "{tmp}/out.jsonl"], ["search", "--jsonl"],
], ids=lambda a: "-".join(a[:2]))
def test_a_command_on_a_never_initialised_base_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       argv: list[str]) -> None:
    base = tmp_path / "fresh"
    code, out, err = call(capsys, ["--basedir", str(base), *(a.replace("{tmp}", str(tmp_path)) for a in argv)])
    line = assert_one_line_error(code, err, BAD)
    assert NOT_INITIALISED in line
    assert out == ""
    assert not base.exists(), "the never-initialised folder was created"
    assert not (tmp_path / "out.jsonl").exists()


def test_an_empty_sqlite_file_is_not_initialised_either(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    db = tmp_path / "other.sqlite3"
    sqlite3.connect(db).close()  # a database file with no tables
    code, _, err = call(capsys, ["--basedir", str(tmp_path / "b"), "--db", f"sqlite:///{db}", "search", "医保"])
    assert NOT_INITIALISED in assert_one_line_error(code, err, BAD)
    code, _, err = call(capsys, ["--basedir", str(tmp_path / "b"), "--db", f"sqlite:///{db}", "init", "--empty"])
    assert code == EXIT_OK, err
    code, out, err = call(capsys, ["--basedir", str(tmp_path / "b"), "--db", f"sqlite:///{db}", "search", "医保"])
    assert code == EXIT_OK and "没有找到" in out, err


def test_a_never_initialised_database_says_so_and_creates_nothing(db_url: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import inspect

    from kb.service import KnowledgeBase

    base = ["--basedir", str(tmp_path / "b"), "--db", db_url]
    code, _, err = call(capsys, [*base, "check"])
    assert NOT_INITIALISED in assert_one_line_error(code, err, BAD)
    if db_url.startswith("sqlite"):
        assert not (tmp_path / "kb.sqlite3").exists()
    else:
        kb = KnowledgeBase.open(db_url, upgrade=False)
        try:
            assert not inspect(kb.store.engine).get_table_names(), "the check created tables"
        finally:
            kb.close()
    assert call(capsys, [*base, "init", "--empty"])[0] == EXIT_OK
    code, out, err = call(capsys, [*base, "search", "医保"])
    assert code == EXIT_OK and "没有找到" in out, err


@pytest.mark.parametrize("url", ["postgresql+psycopg2://postgres@127.0.0.1/postgres", "mysql://u@h/db", "不是地址"])
def test_a_bad_database_url_from_the_environment_is_bad_input(files: Files, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("HUIYIN_DB_URL", url)  # the same check as --db, for a URL --db did not give
    code, _, err = call(capsys, ["--basedir", str(files.base), "check"])
    assert "database_url" in assert_one_line_error(code, err, BAD)


def test_an_unreachable_database_is_an_environment_error(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/huiyin"  # nothing listens on port 1
    code, _, err = call(capsys, ["--basedir", str(tmp_path), "--db", url, "check"])
    assert_one_line_error(code, err, {EXIT_ENV})


# -------------------------------------------------------------------- --jsonl
def serve(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, base: Path, command: str,
          lines: list[bytes]) -> list[dict[str, object]]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n"), encoding="utf-8"))
    code, out, err = call(capsys, ["--basedir", str(base), command, "--jsonl"])
    assert code == EXIT_OK and "Traceback" not in err, err
    responses = [json.loads(line) for line in out.splitlines()]
    assert len(responses) == len([x for x in lines if x.strip()]), out
    return responses


def j(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def test_jsonl_bad_first_line_then_good(files: Files, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = serve(capsys, monkeypatch, files.base, "search", [b"not json", j({"q": "医保", "id": 1})])
    assert set(first) == {"error"} and CJK.search(str(first["error"]))
    assert second["request_id"] == 1 and second["q"] == "医保" and second["hits"]


def test_jsonl_bad_line_after_a_good_one_gets_no_stale_id(files: Files, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = serve(capsys, monkeypatch, files.base, "search",
                [j({"q": "医保", "id": "a"}), b"{broken", j({"limit": "abc"}), j([1, 2]), j({"q": "医保", "id": "b"})])
    assert out[0]["request_id"] == "a" and "hits" in out[0]
    for resp in out[1:4]:
        assert set(resp) == {"error"}, resp
    assert out[4]["request_id"] == "b" and out[4]["hits"]


SEARCH_BAD = [
    {"id": 1, "limit": "abc"}, {"id": 2, "limit": 0}, {"id": 3, "limit": -3}, {"id": 4, "limit": 10**12},
    {"id": 5, "limit": 1.5}, {"id": 6, "limit": True}, {"id": 7, "q": 123}, {"id": 8, "q": ["医保"]},
    {"id": 9, "q": "医" * 100_000}, {"id": 10, "qq": "医保"}, {"id": 11, "q": "医保", "limit": ""},
]
SUGGEST_BAD = [
    {"id": 1, "text": 5}, {"id": 2, "address": ["东城区"]}, {"id": 3, "phone": "abc"},
    {"id": 4, "request_type": "bogus"}, {"id": 5, "limit": 0}, {"id": 6, "foo": 1}, {"id": 7, "text": {"a": 1}},
    {"id": 8, "text": "暖气" * 20_000}, {"id": 9, "phone": 13800138000}, {"id": 10, "limit": "5"},
]
UNUSABLE_IDS = [{"id": {"x": 1}, "q": "医保"}, {"id": True, "q": "医保"}, {"id": [1], "q": "医保"},
                {"id": 1.5, "q": "医保"}, {"id": "x" * 1000, "q": "医保"}]


@pytest.mark.parametrize(("command", "bad", "good"), [
    ("search", SEARCH_BAD, {"id": "ok", "q": "医保", "limit": 3}),
    ("suggest", SUGGEST_BAD, {"id": "ok", "text": "我家暖气不热，屋里才十几度", "phone": "13800138000",
                              "request_type": "complaint", "limit": 3}),
])
def test_jsonl_validates_every_field_and_keeps_serving(files: Files, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, command: str,
                                                       bad: list[dict[str, object]], good: dict[str, object]) -> None:
    lines = [j(b) for b in bad] + [j(u) for u in UNUSABLE_IDS] + [b"\xff\xfe not utf-8", j(None), j("q"), j(good)]
    out = serve(capsys, monkeypatch, files.base, command, lines)
    for req, resp in zip(bad, out, strict=False):
        assert set(resp) == {"error", "request_id"}, (req, resp)
        assert resp["request_id"] == req["id"] and CJK.search(str(resp["error"])), (req, resp)
    for resp in out[len(bad):-1]:
        assert set(resp) == {"error"}, resp  # no usable id on the line: no request_id
    last = out[-1]
    assert last["request_id"] == "ok" and "error" not in last, last
    if command == "search":
        assert 0 < len(last["hits"]) <= 3  # type: ignore[arg-type]
    else:
        assert 0 < len(last["answers"]) <= 3 and last["departments"]  # type: ignore[arg-type]


def test_jsonl_null_means_not_given(files: Files, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (resp,) = serve(capsys, monkeypatch, files.base, "search", [j({"q": "医保", "limit": None, "id": None})])
    assert "error" not in resp and "request_id" not in resp and len(resp["hits"]) == 10  # type: ignore[arg-type]


# ---------------------------------------------------------------- no display
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for Linux")
def test_gui_without_a_display_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "desktop", "--basedir", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == EXIT_ENV, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "qt.qpa" not in proc.stderr
    message = proc.stderr.strip()
    for hint in ("没有图形显示", "xvfb-run", "DISPLAY", "QT_QPA_PLATFORM=offscreen"):
        assert hint in message, message
    assert not (tmp_path / "b").exists()


# ---------------------------------------- unreadable / unwritable (needs a non-root user)
@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder every user can enter (pytest's own is private to the running user)."""
    path = Path(tempfile.mkdtemp(prefix="huiyin-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _as_unprivileged(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run huiyin as ``nobody`` when the tests run as root (root reads and writes everything)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot test permissions")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run([*prefix, str(HUIYIN), *argv], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": "/tmp"})


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("case", ["import-unreadable", "export-unwritable", "basedir-unwritable"])
def test_permissions(shared_tmp: Path, case: str) -> None:
    locked = shared_tmp / "locked"
    locked.mkdir()
    secret = shared_tmp / "secret.csv"
    secret.write_text("external_id,title\nX,y\n", encoding="utf-8")
    secret.chmod(0o000)
    locked.chmod(0o555)
    argv = {"import-unreadable": ["--basedir", str(shared_tmp / "b"), "import", str(secret)],
            "export-unwritable": ["--basedir", str(shared_tmp / "b"), "export", "--kind", "entries",
                                  str(locked / "out.csv")],
            "basedir-unwritable": ["--basedir", str(locked / "base"), "init"]}[case]
    proc = _as_unprivileged(argv)
    assert_one_line_error(proc.returncode, proc.stderr, BAD | USAGE)
    assert not (shared_tmp / "b").exists() and not list(locked.iterdir())
