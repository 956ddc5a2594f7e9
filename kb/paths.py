"""Every directory Huiyin uses, derived from one root.

Resolution order: ``--basedir`` argument, then ``HUIYIN_HOME``, then portable
mode (a ``portable.txt`` next to the executable puts data beside it), then the
OS user data folder (platformdirs).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Huiyin"


def _portable_root() -> Path | None:
    exe_dir = Path(sys.executable).resolve().parent
    if getattr(sys, "frozen", False) and (exe_dir / "portable.txt").exists():
        return exe_dir / "data"
    return None


@dataclass(frozen=True)
class AppPaths:
    """The folders of one Huiyin installation (or one test)."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "huiyin.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def config_file(self) -> Path:
        return self.root / "huiyin.ini"

    @property
    def drafts_dir(self) -> Path:
        return self.data_dir / "drafts"

    def ensure(self) -> AppPaths:
        for d in (self.data_dir, self.index_dir, self.logs_dir, self.cache_dir, self.drafts_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    @classmethod
    def resolve(cls, basedir: str | os.PathLike[str] | None = None) -> AppPaths:
        if basedir:
            return cls(Path(basedir).expanduser().resolve())
        env = os.environ.get("HUIYIN_HOME")
        if env:
            return cls(Path(env).expanduser().resolve())
        portable = _portable_root()
        if portable is not None:
            return cls(portable)
        return cls(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))
