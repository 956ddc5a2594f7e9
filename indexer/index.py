"""The search index: one whoosh index per *generation* directory, a pointer file naming the live one.

Layout::

    <path>/CURRENT            "gen-00000007" (replaced atomically with os.replace)
    <path>/gen-00000007/      whoosh files + meta.json (schema version, kb revision, built_at)

``rebuild`` writes a new generation beside the live one and swaps ``CURRENT``;
searches keep using the old generation until they notice the swap. Changes
applied while a rebuild runs go to the live generation at once *and* are
replayed onto the new one before the swap, so nothing saved is lost and no
edit waits for a rebuild.

Threads: any number of threads may search (each gets its own whoosh searcher,
refreshed when the index changes); writes are serialised by a lock (and by
whoosh's own file lock across processes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as windex
from whoosh import query as wq

from indexer import query as planner
from indexer.errors import IndexCorrupt, SearchIndexError
from indexer.hits import IndexStatus, SearchHit
from indexer.schema import SCHEMA_VERSION, build_schema, document, stored_answer, stored_valid_to
from indexer.scoring import LengthCache, Scorer
from kb.dto import EntryView

__all__ = ["IndexStatus", "SearchHit", "SearchIndex"]

log = logging.getLogger(__name__)

POINTER = "CURRENT"
META = "meta.json"
_GEN_PREFIX = "gen-"
#: How often (seconds) a search checks whether another process changed the index.
EXTERNAL_CHECK_INTERVAL = 1.0
_WRITER_TIMEOUT = 10.0


@dataclass
class _Meta:
    revision: int = 0
    built_at: datetime | None = None
    schema: int = SCHEMA_VERSION

    def dump(self) -> str:
        return json.dumps(
            {
                "schema": self.schema,
                "revision": self.revision,
                "built_at": self.built_at.isoformat() if self.built_at else None,
            }
        )

    @classmethod
    def load(cls, path: Path) -> _Meta:
        raw = json.loads(path.read_text(encoding="utf-8"))
        built = raw.get("built_at")
        return cls(
            revision=int(raw["revision"]),
            built_at=datetime.fromisoformat(built) if built else None,
            schema=int(raw["schema"]),
        )


@dataclass
class _Generation:
    """One open whoosh index directory."""

    name: str
    dir: Path
    ix: Any
    meta: _Meta
    version: int = 0  # bumped on every commit in this process
    seen_toc: int = -1  # whoosh TOC generation last seen by the external check


@dataclass
class _ThreadState:
    gen: _Generation | None = None
    version: int = -1
    searcher: Any = None
    scorer: Scorer | None = None
    masks: dict[date, np.ndarray] = field(default_factory=dict)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _dir_size(path: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            with contextlib.suppress(OSError):
                if child.is_file():
                    total += child.stat().st_size
    return total


class SearchIndex:
    """Full-text index of knowledge entries. Create with :meth:`open` (or :meth:`reset`)."""

    def __init__(self, path: Path, gen: _Generation) -> None:
        self._path = path
        self._gen = gen
        self._write_lock = threading.RLock()
        self._rebuild_lock = threading.Lock()
        self._pending: list[tuple[list[EntryView], list[int], int]] | None = None
        self._local = threading.local()
        self._searchers: list[Any] = []  # every searcher opened, closed in close()
        self._searchers_lock = threading.Lock()
        self._next_external_check = 0.0
        self._closed = False
        self._lengths = LengthCache()

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path) -> SearchIndex:
        """Open the index at ``path``, creating an empty one if there is none.

        Raises :class:`IndexCorrupt` when an index exists but cannot be read
        (or was written by another schema version): call :meth:`reset` and
        then :meth:`rebuild`.
        """
        path = Path(path)
        pointer = path / POINTER
        if not pointer.exists():
            leftovers = [p for p in path.glob(_GEN_PREFIX + "*") if p.is_dir()] if path.exists() else []
            if leftovers:
                raise IndexCorrupt(f"index pointer missing in {path}")
            return cls.reset(path)
        gen = cls._open_generation(path)
        index = cls(path, gen)
        index._cleanup_old_generations()
        return index

    @classmethod
    def reset(cls, path: Path) -> SearchIndex:
        """Start over with an empty index (revision 0) at ``path``; old generations are removed."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        name = cls._next_generation_name(path)
        gen = cls._create_generation(path, name, _Meta(revision=0, built_at=datetime.now()))
        _write_atomic(path / POINTER, name)
        index = cls(path, gen)
        index._cleanup_old_generations()
        return index

    @staticmethod
    def _next_generation_name(path: Path) -> str:
        numbers = [0]
        for child in path.glob(_GEN_PREFIX + "*"):
            with contextlib.suppress(ValueError):
                numbers.append(int(child.name[len(_GEN_PREFIX) :]))
        return f"{_GEN_PREFIX}{max(numbers) + 1:08d}"

    @staticmethod
    def _create_generation(path: Path, name: str, meta: _Meta) -> _Generation:
        gdir = path / name
        if gdir.exists():
            shutil.rmtree(gdir)
        gdir.mkdir(parents=True)
        ix = windex.create_in(str(gdir), build_schema())
        _write_atomic(gdir / META, meta.dump())
        return _Generation(name=name, dir=gdir, ix=ix, meta=meta)

    @staticmethod
    def _open_generation(path: Path) -> _Generation:
        try:
            name = (path / POINTER).read_text(encoding="utf-8").strip()
            if not name.startswith(_GEN_PREFIX) or "/" in name or "\\" in name:
                raise IndexCorrupt(f"bad index pointer {name!r} in {path}")
            gdir = path / name
            meta = _Meta.load(gdir / META)
            if meta.schema != SCHEMA_VERSION:
                raise IndexCorrupt(f"index schema {meta.schema}, expected {SCHEMA_VERSION}")
            ix = windex.open_dir(str(gdir))
            # Read every segment's structures once: a truncated or garbled file fails here.
            with ix.searcher() as searcher:
                searcher.doc_count_all()
                reader = searcher.reader()
                for fieldname in ("id", "text"):
                    for _ in zip(range(3), reader.lexicon(fieldname), strict=False):
                        pass
                if reader.doc_count_all():
                    reader.stored_fields(0)
        except IndexCorrupt:
            raise
        except Exception as exc:  # whoosh raises many kinds (EmptyIndexError, struct.error, EOFError …)
            raise IndexCorrupt(f"cannot read search index in {path}: {exc}") from exc
        return _Generation(name=name, dir=gdir, ix=ix, meta=meta)

    def _cleanup_old_generations(self) -> None:
        for child in self._path.glob(_GEN_PREFIX + "*"):
            if child.is_dir() and child.name != self._gen.name:
                # On Windows a generation still open by a searcher cannot go yet; the next open retries.
                shutil.rmtree(child, ignore_errors=True)

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        return self._path

    @property
    def revision(self) -> int:
        """The knowledge-base change-log revision the index reflects."""
        self._check_external()
        return self._gen.meta.revision

    def status(self) -> IndexStatus:
        self._check_external()
        gen = self._gen
        with gen.ix.searcher() as searcher:
            entries = int(searcher.doc_count())
        return IndexStatus(
            path=self._path,
            revision=gen.meta.revision,
            entries=entries,
            size_bytes=_dir_size(gen.dir),
            built_at=gen.meta.built_at,
        )

    # ------------------------------------------------------------------ writing

    def apply(self, upserts: Iterable[EntryView], deletes: Iterable[int], revision: int) -> None:
        """Add or replace ``upserts``, remove ``deletes``; record ``revision`` (never goes back)."""
        upserts = list(upserts)
        deletes = list(deletes)
        docs = [document(e) for e in upserts]  # analysis outside the lock
        with self._write_lock:
            self._ensure_open()
            self._write(self._gen, docs, deletes)
            self._gen.meta.revision = max(self._gen.meta.revision, revision)
            _write_atomic(self._gen.dir / META, self._gen.meta.dump())
            self._gen.version += 1
            if self._pending is not None:
                self._pending.append((upserts, deletes, revision))

    @staticmethod
    def _write(gen: _Generation, docs: Sequence[dict[str, Any]], deletes: Iterable[int]) -> None:
        try:
            writer = gen.ix.writer(timeout=_WRITER_TIMEOUT, delay=0.05)
        except Exception as exc:
            raise SearchIndexError(f"search index is locked by another writer: {exc}") from exc
        try:
            for entry_id in deletes:
                writer.delete_by_term("id", str(entry_id))
            for doc in docs:
                writer.update_document(**doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def rebuild(self, entries: Iterable[EntryView], revision: int) -> None:
        """Index ``entries`` from scratch in a new generation, then swap it in atomically.

        Searching keeps working on the old generation meanwhile; ``apply``
        calls made during the rebuild reach both generations.
        """
        with self._rebuild_lock:
            with self._write_lock:
                self._ensure_open()
                self._pending = []
                name = self._next_generation_name(self._path)
            indexed: dict[int, int] = {}
            try:
                gen = self._create_generation(self._path, name, _Meta(revision=revision))
                writer = gen.ix.writer(limitmb=512)
                try:
                    for entry in entries:
                        writer.add_document(**document(entry))
                        indexed[entry.id] = entry.revision
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit(optimize=True)
                with self._write_lock:
                    pending, self._pending = self._pending or [], None
                    for upserts, deletes, rev in pending:
                        fresh = [e for e in upserts if e.revision >= indexed.get(e.id, -1)]
                        self._write(gen, [document(e) for e in fresh], deletes)
                        gen.meta.revision = max(gen.meta.revision, rev)
                    gen.meta.built_at = datetime.now()
                    _write_atomic(gen.dir / META, gen.meta.dump())
                    _write_atomic(self._path / POINTER, name)
                    self._gen = gen
            except BaseException:
                with self._write_lock:
                    self._pending = None
                shutil.rmtree(self._path / name, ignore_errors=True)
                raise
        self._cleanup_old_generations()
        log.info("search index rebuilt: %d entries, revision %d", len(indexed), self._gen.meta.revision)

    # ------------------------------------------------------------------ reading

    def _ensure_open(self) -> None:
        if self._closed:
            raise SearchIndexError("search index is closed")

    def _check_external(self) -> None:
        """Notice a rebuild or commit made by another process (at most once a second)."""
        now = time.monotonic()
        if now < self._next_external_check:
            return
        self._next_external_check = now + EXTERNAL_CHECK_INTERVAL
        try:
            name = (self._path / POINTER).read_text(encoding="utf-8").strip()
        except OSError:
            return
        with self._write_lock:
            gen = self._gen
            if name != gen.name:
                try:
                    self._gen = self._open_generation(self._path)
                except IndexCorrupt:
                    log.warning("another process left an unreadable index generation %s", name)
                return
            try:
                latest = windex.FileIndex.latest_generation(gen.ix)
                meta = _Meta.load(gen.dir / META)
            except Exception:
                return
            if (gen.seen_toc >= 0 and latest != gen.seen_toc) or meta.revision != gen.meta.revision:
                gen.meta = meta
                gen.version += 1
            gen.seen_toc = latest

    def _state(self) -> _ThreadState:
        self._ensure_open()
        self._check_external()
        state: _ThreadState | None = getattr(self._local, "state", None)
        if state is None:
            state = _ThreadState()
            self._local.state = state
        gen = self._gen
        if state.gen is not gen or state.version != gen.version:
            old = state.searcher
            state.searcher = gen.ix.searcher()
            with self._searchers_lock:
                self._searchers.append(state.searcher)
                if old is not None and old in self._searchers:
                    self._searchers.remove(old)
            if old is not None:
                with contextlib.suppress(Exception):
                    old.close()
            state.gen, state.version, state.masks = gen, gen.version, {}
            state.scorer = Scorer(state.searcher, self._lengths)
        return state

    @staticmethod
    def _agent_mask(state: _ThreadState, today: date) -> np.ndarray:
        """Documents agents must not see on ``today``, and deleted ones (cached per searcher and day)."""
        mask = state.masks.get(today)
        if mask is None:
            searcher = state.searcher
            yesterday = date.fromordinal(today.toordinal() - 1).isoformat()
            tomorrow = date.fromordinal(today.toordinal() + 1).isoformat()
            hidden: list[Any] = [
                wq.Term("status", s.decode("utf-8") if isinstance(s, bytes) else s)
                for s in searcher.reader().lexicon("status")
                if (s.decode("utf-8") if isinstance(s, bytes) else s) != "published"
            ]
            hidden.append(wq.TermRange("vt", None, yesterday))
            hidden.append(wq.TermRange("vf", tomorrow, None))
            assert state.scorer is not None
            mask = state.scorer.hidden_mask(set(wq.Or(hidden).docs(searcher)))
            state.masks = {today: mask}
        return mask

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        audience: str = "agent",
        today: date | None = None,
        synonyms: Mapping[str, Sequence[str]] | None = None,
    ) -> list[SearchHit]:
        """Search-box query: entries with every word first, then entries with any word (above the relevance floor)."""
        state = self._state()
        plan = planner.plan_search(state.searcher.reader(), query, synonyms)
        if plan.empty:
            return []
        scorer, hidden = self._scorer(state, audience, today)
        memo: dict[int, np.ndarray] = {}
        results = scorer.top(plan.all_words, limit, hidden, memo)
        if len(results) < limit and plan.any_words is not plan.all_words:
            seen = {docnum for docnum, _ in results}
            more = scorer.top(plan.any_words, limit + len(seen), hidden, memo)
            results.extend(r for r in more if r[0] not in seen)
        results = planner.above_floor(plan, results[:limit], planner.SEARCH_FLOOR,
                                      planner.scored_matches(lambda q: scorer.scores(q, memo)))
        return [self._hit(state.searcher, docnum, score, plan) for docnum, score in results]

    def suggest(
        self,
        text: str,
        *,
        limit: int = 5,
        today: date | None = None,
        synonyms: Mapping[str, Sequence[str]] | None = None,
        audience: str = "agent",
    ) -> list[SearchHit]:
        """Answers for a call description (20–500 characters), most likely first (above the relevance floor)."""
        state = self._state()
        plan = planner.plan_suggest(state.searcher.reader(), text, synonyms)
        if plan.empty:
            return []
        scorer, hidden = self._scorer(state, audience, today)
        results = planner.above_floor(plan, scorer.top(plan.any_words, limit, hidden), planner.SUGGEST_FLOOR,
                                      planner.posting_matches(state.searcher.reader()))
        return [self._hit(state.searcher, docnum, score, plan) for docnum, score in results]

    def _scorer(self, state: _ThreadState, audience: str, today: date | None) -> tuple[Scorer, np.ndarray | None]:
        assert state.scorer is not None
        if audience == "editor":
            return state.scorer, None
        if audience != "agent":
            raise ValueError(f"unknown audience {audience!r}")
        return state.scorer, self._agent_mask(state, today or date.today())

    @staticmethod
    def _hit(searcher: Any, docnum: int, score: float, plan: planner.Plan) -> SearchHit:
        stored = searcher.stored_fields(docnum)
        title = stored.get("title_s", "")
        snippet, matched = planner.snippet_and_matches(plan, title, stored_answer(stored))
        return SearchHit(
            id=int(stored["id"]),
            external_id=stored.get("external_id", ""),
            title=title,
            score=score,
            snippet=snippet,
            status=stored.get("status", ""),
            category=stored.get("category", ""),
            department_id=stored.get("department_id"),
            valid_to=stored_valid_to(stored),
            matched=matched,
        )

    def close(self) -> None:
        """Close every searcher this object opened (from any thread)."""
        with self._write_lock:
            self._closed = True
            with self._searchers_lock:
                for searcher in self._searchers:
                    with contextlib.suppress(Exception):
                        searcher.close()
                self._searchers.clear()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
