#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment outside the checkout, and run the
# installed `huiyin` there: init, search, suggest, the --jsonl worker and the offscreen self-test.
#   .ci/wheel_check.sh                    dependencies from the package index (pip's cache makes it quick)
#   .ci/wheel_check.sh --deps-from VENV   dependencies taken from VENV's site-packages (fast; tests/test_packaging.py)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="${PYTHON:-$ROOT/.venv/bin/python}"
DEPS_FROM=""
if [ "${1:-}" = "--deps-from" ]; then DEPS_FROM=${2:?--deps-from needs a virtual environment}; fi
unset PYTHONPATH HUIYIN_HOME HUIYIN_DB_URL
WORK=$(mktemp -d "${TMPDIR:-/tmp}/huiyin-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "== wheel"
# Built from a copy of the sources: the checkout gets no build/ folder and only these paths can reach the wheel.
mkdir "$WORK/src"
tar -C "$ROOT" --exclude=__pycache__ -cf - pyproject.toml README.md kb indexer desktop resources | tar -C "$WORK/src" -xf -
"$PY" -m pip wheel --no-deps -q -w "$WORK/dist" "$WORK/src"
WHEEL=$(ls "$WORK"/dist/huiyin-*.whl)
echo "$(basename "$WHEEL")"

echo "== fresh virtual environment in $WORK/venv"
V="$WORK/venv"
if [ -n "$DEPS_FROM" ]; then
  "$PY" -m venv --without-pip "$V"
  site=$("$V/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  # A plain path line: the .pth files over there (e.g. an editable install of this checkout) do not run.
  "$DEPS_FROM/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))' > "$site/huiyin-deps.pth"
  "$PY" -m pip --python "$V/bin/python" install -q --no-deps "$WHEEL"
else
  "$PY" -m venv "$V"
  "$V/bin/python" -m pip install -q "$WHEEL"
fi

mkdir "$WORK/run"
cd "$WORK/run"  # away from the checkout: nothing can be imported from it
H="$V/bin/huiyin"
B="$WORK/base"

echo "== resources come from the installed package"
"$V/bin/python" - "$ROOT/resources" <<'PYEOF'
import sys
from pathlib import Path

import kb
from kb.resources import resources_root

root = resources_root().resolve()
prefix = Path(sys.prefix).resolve()
assert prefix in Path(kb.__file__).resolve().parents, f"kb imported from outside the fresh venv: {kb.__file__}"
assert prefix in root.parents, f"resources resolved outside the fresh venv: {root}"


def files(base: Path) -> set[str]:
    return {p.relative_to(base).as_posix() for p in base.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}


missing = sorted(files(Path(sys.argv[1])) - files(root))
assert not missing, f"the wheel lacks resources: {missing}"
print(f"{len(files(root))} resource files in {root}")
PYEOF

echo "== huiyin init / search / suggest / --jsonl"
"$H" --basedir "$B" init
"$H" --basedir "$B" search 医保报销 --json | "$V/bin/python" -c '
import json, sys
d = json.load(sys.stdin)
assert d["hits"], d
print("search:", len(d["hits"]), "hits, first", d["hits"][0]["external_id"])'
"$H" --basedir "$B" suggest "我家暖气不热，屋里才十几度" --json | "$V/bin/python" -c '
import json, sys
d = json.load(sys.stdin)
assert d["answers"] and d["departments"], d
print("suggest:", d["answers"][0]["external_id"], "→", d["departments"][0]["name"])'
printf '{"q": "医保", "id": 7}\n' | "$H" --basedir "$B" search --jsonl | "$V/bin/python" -c '
import json, sys
d = json.loads(sys.stdin.readline())
assert d["request_id"] == 7 and d["hits"], d
print("search --jsonl: ok")'

echo "== huiyin --self-test (offscreen)"
QT_QPA_PLATFORM=offscreen "$H" --basedir "$WORK/selftest" --self-test > "$WORK/selftest.out"
"$V/bin/python" - "$WORK/selftest.out" <<'PYEOF'
import json
import sys

report = json.loads(open(sys.argv[1], encoding="utf-8").read().strip().splitlines()[-1])
assert report["ok"], report
print("self-test ok:", ", ".join(report["steps"]))
PYEOF
echo "wheel check passed"
