"""Startup benchmark of the frozen bundle (or the source tree) under Xvfb.

    python bench/bench_startup.py                      # dist/huiyin/huiyin, 7 runs
    python bench/bench_startup.py --runs 5 --source    # python -m desktop instead
    python bench/bench_startup.py --json bench/out/startup.json

Per run it measures, from ``Popen`` of the process:
  window   the main window (title contains "回音") is mapped and visible: the agent can type.
           Found by polling ``xdotool search --onlyvisible`` every 10 ms. Also the CPU time the
           process used until then (user + system), which a busy machine distorts less.
  ready    the process goes idle after the window (CPU time stops growing for 0.5 s): the jieba
           dictionary and the search index, which load behind the window, are done.
  rss      resident memory at "ready" (VmRSS), and after a search and a suggestion typed into
           the window (xdotool; F3 = search box, Alt+D = request text).
  hwm      peak resident memory (VmHWM) over the run.

The knowledge base is the sample one. One unmeasured first start creates it in a temporary
base folder and builds the index (also reported, as "first start"); the measured runs re-open
it, as every later start of the app does. The page cache is warm after that first start.
Medians over the runs are printed and written with --json.

Needs Xvfb and xdotool (apt-get install xvfb xdotool) and, for real glyphs, a CJK font.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WINDOW_TITLE = "回音"
SEARCH_TEXT = "暖气不热"
SUGGEST_TEXT = "我家暖气不热，屋里才十几度"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    window_s: float
    window_cpu_s: float
    ready_s: float
    rss_ready_mb: float
    rss_after_search_mb: float
    hwm_mb: float


def _proc_status_mb(pid: int, key: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def _visible_window(title: str, env: dict[str, str]) -> str | None:
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                         capture_output=True, text=True, env=env).stdout.split()
    return out[0] if out else None


def _wait_idle(pid: int, quiet_s: float = 0.5, timeout_s: float = 60.0) -> float:
    """Block until the process used no CPU for ``quiet_s``; return the time it went quiet."""
    deadline = time.perf_counter() + timeout_s
    last_ticks, last_change = _cpu_ticks(pid), time.perf_counter()
    while time.perf_counter() < deadline:
        time.sleep(0.05)
        ticks = _cpu_ticks(pid)
        now = time.perf_counter()
        if ticks != last_ticks:
            last_ticks, last_change = ticks, now
        elif now - last_change >= quiet_s:
            return last_change
    raise TimeoutError(f"process {pid} did not go idle within {timeout_s} s")


class Xvfb:
    """A private X server for the benchmark (no window manager, like CI)."""

    def __init__(self, size: str = "1366x768x24") -> None:
        self.size = size
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""

    def __enter__(self) -> Xvfb:
        # -displayfd: Xvfb picks a free display itself and reports it (no race with xvfb-run
        # or other benchmarks running on the same machine).
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            # -noreset: without it the server resets whenever its last client disconnects (every
            # xdotool call, every app exit), and a client connecting during the reset fails.
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.size, "-nolisten", "tcp", "-noreset"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            self.__exit__()
            raise RuntimeError("could not start Xvfb")
        self.display = f":{number}"
        env = {**os.environ, "DISPLAY": self.display}
        for _ in range(100):  # answers requests?
            if subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode == 0:
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"Xvfb on {self.display} does not answer")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def one_run(cmd: list[str], env: dict[str, str], search: bool, timeout_s: float = 60.0) -> Run:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wid = None
        deadline = t0 + timeout_s
        while wid is None:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"app exited with {proc.returncode} before showing a window:\n{err[-2000:]}")
            if time.perf_counter() > deadline:
                raise TimeoutError("no window")
            wid = _visible_window(WINDOW_TITLE, env)
            if wid is None:
                time.sleep(0.01)
        window_s = time.perf_counter() - t0
        window_cpu_s = _cpu_ticks(proc.pid) / CLK_TCK
        ready_s = _wait_idle(proc.pid) - t0
        rss_ready = _proc_status_mb(proc.pid, "VmRSS")
        rss_search = float("nan")
        if search:
            # No window manager under Xvfb: give the window the focus first, as a WM would.
            # Then F3 (search box) + a query, and Alt+D (request text) + a citizen's words,
            # which runs the suggestions (answers, departments, categories, alerts).
            subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=env, check=False)
            for keys, text in (("F3", SEARCH_TEXT), ("alt+d", SUGGEST_TEXT)):
                subprocess.run(["xdotool", "key", keys], env=env, check=False)
                time.sleep(0.3)
                subprocess.run(["xdotool", "type", "--delay", "30", text], env=env, check=False)
                subprocess.run(["xdotool", "key", "Return"], env=env, check=False)
                _wait_idle(proc.pid)
            rss_search = _proc_status_mb(proc.pid, "VmRSS")
        hwm = _proc_status_mb(proc.pid, "VmHWM")
        return Run(round(window_s, 3), round(window_cpu_s, 2), round(ready_s, 3), round(rss_ready, 1),
                   round(rss_search, 1), round(hwm, 1))
    finally:
        _stop(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=str(REPO / "dist" / "huiyin" / "huiyin"), help="frozen executable")
    ap.add_argument("--source", action="store_true", help="run `python -m desktop` from the source tree")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-search", action="store_true", help="skip typing a search and a request")
    ap.add_argument("--json", help="write the runs and medians to this file")
    args = ap.parse_args()

    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: apt-get install xvfb xdotool", file=sys.stderr)
            return 2
    base = Path(tempfile.mkdtemp(prefix="huiyin-bench-"))
    cmd = [sys.executable, "-m", "desktop"] if args.source else [args.exe]
    cmd += ["--basedir", str(base)]
    if not args.source and not Path(args.exe).exists():
        print(f"{args.exe} not found: build it with `pyinstaller --noconfirm build.spec`", file=sys.stderr)
        return 2

    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    if args.source:
        env["PYTHONPATH"] = str(REPO)
    runs: list[Run] = []
    try:
        with Xvfb() as x:
            env["DISPLAY"] = x.display
            first = one_run(cmd, env, search=False, timeout_s=120)
            print(f"first start (creates the KB + index): window {first.window_s:.2f} s, "
                  f"ready {first.ready_s:.2f} s, rss {first.rss_ready_mb:.0f} MB")
            for i in range(args.runs):
                r = one_run(cmd, env, search=not args.no_search)
                runs.append(r)
                print(f"run {i + 1}: window {r.window_s:.3f} s (cpu {r.window_cpu_s:.2f} s)  ready {r.ready_s:.2f} s  "
                      f"rss {r.rss_ready_mb:.0f} MB  after search {r.rss_after_search_mb:.0f} MB  "
                      f"peak {r.hwm_mb:.0f} MB")
    finally:
        shutil.rmtree(base, ignore_errors=True)

    med = {k: round(statistics.median(getattr(r, k) for r in runs), 3) for k in asdict(runs[0])}
    print(f"median over {len(runs)} runs: window {med['window_s']:.2f} s (cpu {med['window_cpu_s']:.2f} s) · "
          f"ready (jieba + index loaded) {med['ready_s']:.2f} s · RSS {med['rss_ready_mb']:.0f} MB · "
          f"RSS after a search {med['rss_after_search_mb']:.0f} MB · peak {med['hwm_mb']:.0f} MB")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"cmd": "source" if args.source else args.exe, "first_start": asdict(first),
                                   "runs": [asdict(r) for r in runs], "median": med}, indent=2),
                       encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
