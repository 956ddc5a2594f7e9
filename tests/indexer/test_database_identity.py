"""A seat's index and history belong to one database: pointed at another, the seat rebuilds them."""

from __future__ import annotations

from pathlib import Path

from indexer.engine import DATABASE_ID_FILE, Engine
from kb.actor import Actor
from kb.exchange import import_rows
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from tests.helpers import InlineExecutor

ACTOR = Actor.system("t")


def base(path: Path, titles: list[str]) -> KnowledgeBase:
    kb = KnowledgeBase.open(f"sqlite:///{path}")
    import_rows(kb, "entries", [(i + 1, {"external_id": f"E-{i}", "title": t, "answer": "按规定办理。",
                                         "status": "published"}) for i, t in enumerate(titles)], actor=ACTOR)
    return kb


def titles_found(paths: AppPaths, kb: KnowledgeBase, query: str) -> list[str]:
    engine = Engine.open(paths, kb, executor=InlineExecutor())
    try:
        return [h.title for h in engine.search(query)]
    finally:
        engine.close()


def test_an_index_built_from_another_database_is_rebuilt(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "seat").ensure()
    own = base(tmp_path / "own.sqlite3", ["暖气不热怎么报修"])
    # The center's database has more changes than the seat's own: its revision is higher, so without the
    # database's identity the seat would only apply the center's changes after its own revision.
    center = base(tmp_path / "center.sqlite3", ["供暖费缴纳标准", "暖气停供通知", "居住证办理流程"])
    try:
        assert own.database_id() != center.database_id()
        assert center.revision() > own.revision()
        assert titles_found(paths, own, "暖气") == ["暖气不热怎么报修"]
        assert "暖气不热怎么报修" not in titles_found(paths, center, "暖气")
        assert (paths.index_dir / DATABASE_ID_FILE).read_text(encoding="utf-8") == center.database_id()
    finally:
        own.close()
        center.close()


def test_the_database_id_is_stable(tmp_path: Path) -> None:
    kb = base(tmp_path / "a.sqlite3", ["社保卡补办"])
    try:
        first = kb.database_id()
        assert first and kb.database_id() == first
    finally:
        kb.close()
    reopened = KnowledgeBase.open(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    try:
        assert reopened.database_id() == first
    finally:
        reopened.close()
