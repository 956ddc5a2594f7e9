#!/usr/bin/env bash
# Build the one-folder bundle and run its frozen self-test (Linux CI; called from .ci/run).
#
#   installer/build_and_selftest.sh               build dist/huiyin, self-test it twice
#   installer/build_and_selftest.sh --installer   ... and package it with makensis (~3 min, lzma)
#
# Exits non-zero when the build fails, a self-test fails, or the bundle exceeds
# HUIYIN_MAX_BUNDLE_MB (default 200). Python: $PYTHON, else .venv/bin/python, else python3.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_INSTALLER=0
for arg in "$@"; do
  case "$arg" in
    --installer) WITH_INSTALLER=1 ;;
    *) echo "usage: $0 [--installer]" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
MAX_MB=${HUIYIN_MAX_BUNDLE_MB:-200}
BUNDLE=dist/huiyin
EXE=$BUNDLE/huiyin

echo "== build: $PY -m PyInstaller --noconfirm build.spec"
t0=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN build.spec
echo "build took $(( $(date +%s) - t0 )) s"

size_mb=$(du -sm "$BUNDLE" | cut -f1)
echo "== bundle: $BUNDLE  ${size_mb} MB unpacked ($(find "$BUNDLE" -type f | wc -l) files; budget ${MAX_MB} MB)"

# Every library in the bundle must still resolve after build.spec's filters (ldd, bundle first).
echo "== libraries: ldd over every bundled shared object"
missing=$(find "$BUNDLE" -type f -name '*.so*' -print0 \
  | LD_LIBRARY_PATH="$BUNDLE/_internal:$BUNDLE/_internal/PySide6/Qt/lib" xargs -0 -n1 ldd 2>/dev/null \
  | grep 'not found' | sort -u || true)
if [ -n "$missing" ]; then
  echo "FAIL: unresolved libraries (a filter in build.spec dropped too much, or the build machine lacks them):" >&2
  echo "$missing" >&2
  exit 1
fi

BASEDIR=$(mktemp -d "${TMPDIR:-/tmp}/huiyin-selftest.XXXXXX")
trap 'rm -rf "$BASEDIR"' EXIT

selftest() {  # $1 = label
  echo "== self-test ($1): QT_QPA_PLATFORM=offscreen $EXE --self-test --basedir $BASEDIR"
  local rc=0 t1
  t1=$(date +%s%N)
  # timeout: a hung GUI must not hang CI
  QT_QPA_PLATFORM=offscreen timeout 180 "$EXE" --self-test --basedir "$BASEDIR" || rc=$?
  echo "self-test ($1) rc=$rc in $(( ($(date +%s%N) - t1) / 1000000 )) ms"
  return "$rc"
}

fail=0
# 1st run creates the knowledge base and the index; 2nd run re-opens both (pickled whoosh
# schema, alembic "already at head"), the path every later start of the app takes.
selftest "first start" || fail=1
if [ "$fail" = 0 ]; then selftest "second start" || fail=1; fi

if [ "$size_mb" -gt "$MAX_MB" ]; then
  echo "FAIL: bundle is ${size_mb} MB, budget ${MAX_MB} MB" >&2
  fail=1
fi

if [ "$WITH_INSTALLER" = 1 ]; then
  version=$("$PY" -c 'import kb; print(kb.__version__)')
  out=dist/huiyin-${version}-linux-payload-setup.exe
  echo "== installer: makensis (payload = the Linux bundle; sizes only, not for Windows use)"
  t0=$(date +%s)
  makensis -V2 -WX "-DVERSION=$version" "-DPAYLOAD=../$BUNDLE" "-DOUTFILE=../$out" installer/huiyin.nsi
  echo "makensis took $(( $(date +%s) - t0 )) s; $out $(du -m "$out" | cut -f1) MB"
fi

if [ "$fail" != 0 ]; then
  echo "FAIL: frozen self-test" >&2
  exit 1
fi
echo "OK: bundle ${size_mb} MB, self-test passed"
