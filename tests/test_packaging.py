"""Packaging checks that need no build: the spec, the resources it ships, the NSIS script.

The real frozen build and its self-test run in ``installer/build_and_selftest.sh`` (CI).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"
NSI = ROOT / "installer" / "huiyin.nsi"
SHIPPED_PACKAGES = ("kb", "indexer", "desktop")


# ----------------------------------------------------------------- build.spec
class _Recorder:
    """Stands in for PyInstaller's Analysis / PYZ / EXE / COLLECT and records the call."""

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        _Recorder.calls.append((kind, args, kwargs))
        # Analysis attributes the spec reads and filters
        self.binaries: list[tuple[str, str, str]] = []
        self.datas = [(dest + "/" + Path(src).name, src, "DATA") for src, dest in kwargs.get("datas", [])]
        self.pure: list[Any] = []
        self.scripts: list[Any] = []


def _stub(kind: str) -> Any:
    return lambda *args, **kwargs: _Recorder(kind, *args, **kwargs)


@pytest.fixture(scope="module")
def spec_ns() -> dict[str, Any]:
    """Execute build.spec with recording stand-ins for PyInstaller's build classes."""
    _Recorder.calls = []
    ns: dict[str, Any] = {"__name__": "build_spec", "SPECPATH": str(ROOT),
                          **{k: _stub(k) for k in ("Analysis", "PYZ", "EXE", "COLLECT")}}
    saved_path = list(sys.path)
    saved_mod = sys.modules.get("PyInstaller.utils.hooks")
    try:
        try:
            import PyInstaller.utils.hooks  # noqa: F401  (real collect_data_files when installed)
        except ImportError:  # test venv without the [build] extra: jieba data is then not checked
            fake = types.ModuleType("PyInstaller.utils.hooks")
            fake.collect_data_files = lambda *a, **k: []  # type: ignore[attr-defined]
            sys.modules["PyInstaller.utils.hooks"] = fake
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), ns)
    finally:
        sys.path[:] = saved_path
        if saved_mod is None:
            sys.modules.pop("PyInstaller.utils.hooks", None)
    ns["_calls"] = list(_Recorder.calls)
    return ns


def test_spec_is_valid_python() -> None:
    ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def test_spec_builds_one_folder_huiyin_with_package_version(spec_ns: dict[str, Any]) -> None:
    import kb

    kinds = [c[0] for c in spec_ns["_calls"]]
    assert kinds.count("Analysis") == 1 and kinds[-1] == "COLLECT"
    collect = spec_ns["_calls"][-1]
    assert collect[2]["name"] == "huiyin"
    exes = [c for c in spec_ns["_calls"] if c[0] == "EXE"]
    assert all(e[2]["exclude_binaries"] for e in exes), "one-folder: binaries go to COLLECT"
    assert exes[0][2]["name"] == "huiyin"
    assert spec_ns["__version__"] == kb.__version__
    analysis = spec_ns["_calls"][0]
    assert Path(analysis[1][0][0]) == ROOT / "desktop" / "__main__.py"


def test_spec_ships_every_resource_file(spec_ns: dict[str, Any]) -> None:
    shipped = {Path(src).resolve() for src, _dest in spec_ns["get_data_files"]()}
    for path in (ROOT / "resources").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
            assert path.resolve() in shipped, f"resources file not in the bundle: {path.relative_to(ROOT)}"


def test_spec_ships_migrations_next_to_kb(spec_ns: dict[str, Any]) -> None:
    """Alembic loads kb/migrations by file path: kb.db.MIGRATIONS_DIR = <kb dir>/migrations.

    Frozen, kb.__file__ is <_MEIPASS>/kb/__init__.pyc, so the files must land in kb/migrations.
    """
    import kb
    from kb.db import MIGRATIONS_DIR

    assert Path(kb.__file__).resolve().parent / "migrations" == MIGRATIONS_DIR
    targets = {(Path(src).name, dest) for src, dest in spec_ns["get_data_files"]()}
    assert ("env.py", "kb/migrations") in targets
    assert ("script.py.mako", "kb/migrations") in targets
    versions = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert versions, "no migration scripts"
    for name in versions:
        assert (name, "kb/migrations/versions") in targets


def test_spec_ships_jieba_dictionary_without_unused_models(spec_ns: dict[str, Any]) -> None:
    pytest.importorskip("PyInstaller", reason="PyInstaller not installed (pip install -e .[build])")
    dests = {f"{dest}/{Path(src).name}" for src, dest in spec_ns["get_data_files"]()}
    assert [d for d in dests if d.startswith("jieba/")] == ["jieba/dict.txt"]


@pytest.mark.parametrize(("dest", "kept"), [
    ("jieba/dict.txt", True),
    ("jieba/finalseg/prob_emit.p", False),               # CPython imports finalseg/prob_emit.py
    ("jieba/lac_small/model_baseline/word_emb", False),   # re-added by hook-jieba; filtered after Analysis
    ("jieba/analyse/idf.txt", False),
    ("PySide6/Qt/translations/qtbase_zh_CN.qm", True),
    ("PySide6/Qt/translations/qtbase_de.qm", False),
    ("PySide6/translations/qtbase_de.qm", False),       # Windows wheel layout
    ("PySide6/translations/qtbase_zh_CN.qm", True),
    ("resources/sample/entries.jsonl", True),
    ("kb/migrations/env.py", True),
])
def test_spec_data_filter(spec_ns: dict[str, Any], dest: str, kept: bool) -> None:
    assert spec_ns["keep_data"]((dest, "src", "DATA")) is kept


@pytest.mark.parametrize(("dest", "kept"), [
    ("PySide6/Qt/lib/libQt6Core.so.6", True),
    ("PySide6/Qt/lib/libQt6Widgets.so.6", True),
    ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
    ("PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so", True),  # Chinese IME
    ("PySide6/Qt/plugins/platforms/libqwayland-egl.so", False),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
    ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
    ("PySide6/Qt/lib/libQt6Qml.so.6", False),
    ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
    # Windows names
    ("PySide6/Qt6Core.dll", True),
    ("PySide6/plugins/platforms/qwindows.dll", True),
    ("PySide6/opengl32sw.dll", False),
    ("PySide6/Qt6Pdf.dll", False),
    ("PySide6/plugins/imageformats/qpdf.dll", False),
    # not Qt
    ("libpython3.11.so.1.0", True),
    ("psycopg_binary.libs/libpq-e9b5c9ac.so.5.18", True),
])
def test_spec_binary_filter(spec_ns: dict[str, Any], dest: str, kept: bool) -> None:
    assert spec_ns["keep_binary"]((dest, "src", "BINARY")) is kept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GTK stack filter is Linux-only")
@pytest.mark.parametrize(("dest", "kept"), [
    ("libcairo.so.2", False), ("libpango-1.0.so.0", False), ("libgio-2.0.so.0", False),
    ("libglib-2.0.so.0", True), ("libfontconfig.so.1", True), ("libxkbcommon.so.0", True),
    ("libX11.so.6", True), ("libdbus-1.so.3", True),
])
def test_spec_gtk_stack_filter(spec_ns: dict[str, Any], dest: str, kept: bool) -> None:
    assert spec_ns["keep_binary"]((dest, "src", "BINARY")) is kept


# ------------------------------------------- code uses only what the spec ships
def _sources(packages: tuple[str, ...] = SHIPPED_PACKAGES) -> list[Path]:
    return [p for pkg in packages for p in (ROOT / pkg).rglob("*.py")
            if "__pycache__" not in p.parts and "migrations" not in p.parts]


_RESOURCE_NAME = re.compile(r"^[\w\-]+(/[\w\-.]+)*\.(jsonl|json|txt|tsv|csv|qss|svg|png|ico|ttf|otf)$")


def _resource_names() -> set[str]:
    """String constants that name resource files, in modules that use kb.resources."""
    names: set[str] = set()
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if "resource_path" not in text and "resources_root" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _RESOURCE_NAME.match(node.value):
                names.add(node.value)
    return names


def test_every_resource_the_code_names_exists() -> None:
    """Names like ``"sample/entries.jsonl"`` in modules using kb.resources exist under resources/.

    Bare names (``"entries.jsonl"``) are joined to a folder constant and covered by the tests
    below; other libraries' file names (opencc's ``"TSCharacters.txt"``) share those modules.
    """
    names = sorted(n for n in _resource_names() if "/" in n)
    assert names, "found no resource names: did kb.resources move?"
    for name in names:
        assert (ROOT / "resources" / name).is_file(), f"code refers to resource {name!r}, not in resources/"


def test_sample_knowledge_base_files_exist() -> None:
    from kb.resources import resource_path
    from kb.sample import SAMPLE_DIR, SAMPLE_FILES

    for _kind, name in SAMPLE_FILES:
        assert resource_path(f"{SAMPLE_DIR}/{name}").is_file(), name


def test_resources_resolve_inside_a_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kb.resources import resource_path

    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("jieba/userdict.txt") == tmp_path / "resources" / "jieba" / "userdict.txt"


@pytest.mark.parametrize(("pattern", "why"), [
    (r"jieba\.analyse|from jieba import .*analyse|jieba\.posseg|from jieba import .*posseg|enable_paddle",
     "build.spec drops jieba's analyse/posseg/paddle models and excludes those modules"),
    (r"phonenumbers\.(geocoder|carrier|timezone)|from phonenumbers import .*(geocoder|carrier|timezone)",
     "build.spec and pyinstaller_hooks/hook-phonenumbers.py leave out geocoder/carrier/timezone data"),
    (r"PySide6\.QtNetwork|from PySide6 import .*QtNetwork", "build.spec excludes QtNetwork"),
    (r"^\s*(import|from) pandas\b", "build.spec excludes pandas"),
    (r"^\s*(import|from) pygments\b", "build.spec excludes pygments"),
])
def test_code_does_not_use_what_the_bundle_leaves_out(pattern: str, why: str) -> None:
    rx = re.compile(pattern, re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in _sources() if rx.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"{why}; used in {offenders} — change build.spec too"


# ------------------------------------------------------------------ installer
def test_build_script_syntax() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not on PATH")
    subprocess.run([bash, "-n", str(ROOT / "installer" / "build_and_selftest.sh")], check=True)


def test_uninstaller_keeps_user_data() -> None:
    text = NSI.read_text(encoding="utf-8")
    uninstall = text[text.index('Section "Uninstall"'):]
    assert not re.search(r'RMDir\s+/r\s+"\$INSTDIR"\s*$', uninstall, re.MULTILINE), \
        "the uninstaller must not delete the install folder recursively (portable data\\ lives there)"
    assert not re.search(r"RMDir\s+/r\s+\"?\$(LOCALAPPDATA|APPDATA|PROFILE)", uninstall, re.IGNORECASE), \
        "the uninstaller must not delete the data folder"


def test_nsis_script_compiles(tmp_path: Path) -> None:
    makensis = shutil.which("makensis")
    if makensis is None:
        pytest.skip("makensis not on PATH (apt-get install nsis)")
    payload = tmp_path / "payload"
    (payload / "_internal" / "resources").mkdir(parents=True)
    (payload / "huiyin.exe").write_bytes(b"MZ dummy")
    (payload / "huiyin-cli.exe").write_bytes(b"MZ dummy")
    (payload / "_internal" / "resources" / "说明.txt").write_text("中文文件名", encoding="utf-8")
    out = tmp_path / "huiyin-1.2.3-setup.exe"  # a bare "setup.exe" trips makensis warning 9000
    proc = subprocess.run(
        [makensis, "-V2", "-WX", "-DVERSION=1.2.3", f"-DPAYLOAD={payload}", f"-DOUTFILE={out}",
         "-DCOMPRESSOR=zlib", str(NSI)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.read_bytes()[:2] == b"MZ"


def test_windows_workflow() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed")
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "windows.yml").read_text(encoding="utf-8"))
    job = wf["jobs"]["build"]
    assert job["runs-on"] == "windows-2022", "windows-latest (Server 2025) has no NSIS"
    assert job["timeout-minutes"] <= 30
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "build.spec" in script and "installer\\huiyin.nsi" in script
    assert "Start-Process" in script and "-PassThru" in script and "ExitCode" in script


# ------------------------------------------------------------------ self-test
@pytest.mark.slow
def test_self_test_from_source(tmp_path: Path) -> None:
    """``huiyin --self-test --basedir DIR`` exits 0 from source (the bundle: build_and_selftest.sh)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "desktop", "--self-test", "--basedir", str(tmp_path)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '"ok": true' in proc.stdout


# ------------------------------------------------------------ the Python wheel
def _pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_wheel_packages_are_the_packages_on_disk() -> None:
    """pyproject.toml lists its packages (to map resources/ into the wheel): none may be forgotten."""
    from setuptools import find_namespace_packages

    cfg = _pyproject()["tool"]["setuptools"]
    on_disk = set(find_namespace_packages(str(ROOT), include=[f"{p}*" for p in SHIPPED_PACKAGES]))
    on_disk |= {"kb._resources"} | {f"kb._resources.{d.name}" for d in (ROOT / "resources").iterdir() if d.is_dir()}
    assert set(cfg["packages"]) == on_disk
    assert cfg["package-dir"] == {"kb._resources": "resources"}
    assert cfg["package-data"]["kb._resources"] == ["**/*"]


def test_resources_resolve_to_an_installed_copy_first(tmp_path: Path) -> None:
    from kb.resources import INSTALLED_DIR, locate_resources, resources_root

    package = tmp_path / "kb"
    package.mkdir()
    assert locate_resources(package) == tmp_path / "resources"  # a checkout: resources/ beside kb/
    (package / INSTALLED_DIR).mkdir()
    assert locate_resources(package) == package / INSTALLED_DIR  # a wheel: the copy inside kb/
    assert resources_root() == ROOT / "resources"  # this test runs from the checkout


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_installed_wheel_works_outside_the_checkout() -> None:
    """.ci/wheel_check.sh: build the wheel, install it in a fresh venv, run init/search/suggest/self-test.

    CI installs the dependencies from the package index; here they come from this venv (fast).
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "wheel_check.sh"), "--deps-from", sys.prefix],
                          capture_output=True, text=True, errors="replace", timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "resource files in" in proc.stdout and "self-test ok" in proc.stdout
    assert "wheel check passed" in proc.stdout
