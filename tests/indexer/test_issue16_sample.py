"""Issue #16 §5 on the sample knowledge base, as `huiyin suggest/search` show it: the exact examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import EXIT_OK, main


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huiyin")
    assert main(["--basedir", str(path), "init"]) == EXIT_OK
    return path


def cli(capsys: pytest.CaptureFixture[str], base: Path, *argv: str) -> str:
    assert main(["--basedir", str(base), *argv]) == EXIT_OK
    return capsys.readouterr().out


def suggest(capsys: pytest.CaptureFixture[str], base: Path, text: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cli(capsys, base, "suggest", text, "--json"))
    return out


def test_e_bike_charging_in_the_stairwell_is_a_hazard_for_the_fire_brigade(
        base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = suggest(capsys, base, "楼道里有人给电动车充电")
    assert [(a["kind"], a["emergency"]) for a in out["alerts"]] == [("hazard", False)]
    assert "96119" in out["alerts"][0]["transfer_to"] and "转接119" not in out["alerts"][0]["script"]
    assert out["urgency"] == "urgent"  # a work order, not the 1-hour emergency deadline
    assert out["departments"][0]["name"] == "北京市消防救援总队"
    assert all("交通管理" not in d["name"] or not any(r.startswith("职责") for r in d["reasons"])
               for d in out["departments"])
    fire = suggest(capsys, base, "楼道里的电动车充电时冒烟了")
    assert fire["alerts"][0]["kind"] == "fire" and fire["alerts"][0]["emergency"] and fire["urgency"] == "danger"


@pytest.mark.parametrize("text", ["楼道里有人给电动车充电", "有意见", "我对处理结果不满意",
                                  "我想反映一下我们小区的问题", "小区门口的路灯坏了我想问问有人管吗",
                                  "楼道里电动车充电有人管吗"])
def test_reasons_quote_whole_words(base: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    out = suggest(capsys, base, text)
    for d in out["departments"]:
        for quote in (q for r in d["reasons"] for q in re.findall(r"「([^」]*)」", r)):
            for word in quote.split("、"):
                assert len(word) > 1 and word not in {"动车", "人管", "管吗", "一下", "我家", "有人", "的问"}, (
                    text, d["name"], d["reasons"])


def test_equal_phone_numbers_are_shown_once(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, base, "suggest", "我家暖气不热")
    line = next(x for x in out.splitlines() if "热力集团" in x)
    assert "96069" in line and "96069 / 96069" not in line


def test_nonsense_has_no_answer(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "没有找到相关口径" in cli(capsys, base, "search", "不存在的东西随便说说")
    assert json.loads(cli(capsys, base, "search", "不存在的东西随便说说", "--json"))["hits"] == []
    assert "推荐口径 (answers)：没有找到相关口径" in cli(capsys, base, "suggest", "不存在的东西随便说说")
    assert "没有找到相关口径" in cli(capsys, base, "search", "构坐塞伤鼎摘侨瞒")
    assert suggest(capsys, base, "我家暖气不热")["answers"][0]["title"].startswith("暖气不热")
