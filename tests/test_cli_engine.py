"""The command line's engine runs its background work on the CLI's own executor and stops it before exiting."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import EXIT_OK, main
from kb.dto import WorkOrderView
from kb.services.work_orders import WorkOrderService
from tests.indexer.test_routing import NOW, order


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("huiyin")
    assert main(["--basedir", str(base), "init"]) == EXIT_OK
    return base


def test_a_command_leaves_no_background_work_running(initialised: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    read: list[str] = []

    def slow_orders(self: WorkOrderService, *, since: datetime | None = None, batch: int = 5000,
                    **_: Any) -> Iterator[WorkOrderView]:
        """A long history catch-up: one work order every 20 ms for 20 s."""
        for i in range(1000):
            read.append(f"wo-{i}")
            yield order(i, "小区水管漏水了没人修", dept_id=1, at=NOW)
            threading.Event().wait(0.02)

    monkeypatch.setattr(WorkOrderService, "iter_all", slow_orders)
    threads = set(threading.enumerate())
    assert main(["--basedir", str(initialised), "suggest", "暖气不热怎么办", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["answers"]
    assert read  # the catch-up started (in the background: the command did not wait for it)...
    assert len(read) < 1000
    left = [t.name for t in threading.enumerate() if t not in threads and t.is_alive()]
    assert left == []  # ...and was stopped and joined before main() returned
