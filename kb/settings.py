"""Per-installation settings in ``huiyin.ini`` in the base folder.

Declared once here with defaults and types. The file is INI so IT staff can
edit it by hand (documented in README); unknown keys are kept.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from kb.db import sqlite_url
from kb.errors import ValidationError
from kb.paths import AppPaths
from kb.vocab import ROLES

SCHEMA_VERSION = 1
THEMES = ("default", "high_contrast")  # [ui] theme: the standard colours, or white on black (desktop/style.py)


@dataclass(frozen=True)
class Settings:
    """Settings of one seat. ``database_url`` empty means the embedded SQLite file."""

    database_url: str = ""
    seat: str = ""
    user: str = ""
    role: str = "agent"
    font_size: int = 11
    theme: str = "default"
    city_area_code: str = "10"
    schema_version: int = SCHEMA_VERSION

    def resolved_database_url(self, paths: AppPaths, override: str | None = None) -> str:
        """--db, then HUIYIN_DB_URL, then the settings file, then the embedded SQLite file."""
        return override or os.environ.get("HUIYIN_DB_URL") or self.database_url or sqlite_url(paths.db_file)

    @property
    def user_name(self) -> str:
        return self.user or os.environ.get("USERNAME") or os.environ.get("USER") or "agent"


_SECTIONS = {"database_url": ("database", "url"), "seat": ("seat", "name"), "user": ("seat", "user"),
             "role": ("seat", "role"), "font_size": ("ui", "font_size"), "theme": ("ui", "theme"),
             "city_area_code": ("city", "area_code"), "schema_version": ("meta", "schema_version")}


def load(path: Path) -> Settings:
    """Read settings; a missing file gives the defaults; a bad value is a ValidationError."""
    cp = configparser.ConfigParser()
    if path.exists():
        try:
            cp.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise ValidationError(f"settings: 配置文件格式错误 {path}：{exc}") from exc
    values: dict[str, object] = {}
    for f in fields(Settings):
        section, key = _SECTIONS[f.name]
        raw = cp.get(section, key, fallback=None)
        if raw is None or raw == "":
            continue
        if f.type in ("int", int):
            try:
                values[f.name] = int(raw)
            except ValueError:
                raise ValidationError(f"{section}.{key}: 应为整数：{raw}") from None
        else:
            values[f.name] = raw.strip()
    if "role" in values:  # a code or its label (坐席, 知识编辑 …); a typo must not quietly give an agent's rights
        values["role"] = ROLES.parse(values["role"], "seat.role")
    if values.get("theme", THEMES[0]) not in THEMES:
        raise ValidationError(f"ui.theme: 未知的主题「{values['theme']}」，可选：{'、'.join(THEMES)}")
    return replace(Settings(), **values)  # type: ignore[arg-type]


def save(settings: Settings, path: Path) -> None:
    """Write settings, keeping sections and keys this version does not know."""
    cp = configparser.ConfigParser()
    if path.exists():
        cp.read(path, encoding="utf-8")
    for f in fields(Settings):
        section, key = _SECTIONS[f.name]
        if not cp.has_section(section):
            cp.add_section(section)
        cp.set(section, key, str(getattr(settings, f.name)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("# Huiyin 回音 settings — see README, section 配置 (Configuration)\n")
        cp.write(fh)
    tmp.replace(path)
