"""huiyin.ini: the seat's role is a code or its label; anything else stops the start with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import settings
from kb.errors import ValidationError


def write_ini(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "huiyin.ini"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("written", "code"), [("editor", "editor"), ("知识编辑", "editor"), (" 值班长 ", "supervisor"),
                                               ("Admin", "admin")])
def test_role_takes_a_code_or_its_label(tmp_path: Path, written: str, code: str) -> None:
    assert settings.load(write_ini(tmp_path, f"[seat]\nrole = {written}\n")).role == code


def test_a_mistyped_role_is_refused_not_taken_for_an_agent(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"seat\.role") as exc:
        settings.load(write_ini(tmp_path, "[seat]\nrole = edtior\n"))
    assert "坐席" in str(exc.value)  # the message lists the choices


def test_defaults_without_a_file(tmp_path: Path) -> None:
    assert settings.load(tmp_path / "missing.ini").role == "agent"
