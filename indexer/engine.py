"""The engine the CLI and the GUI call: knowledge base + search index + call intelligence.

The database is the source of truth. The index records the change-log
revision it reflects; :meth:`Engine.sync` catches up from there, and a
missing, corrupt or foreign index is rebuilt.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from indexer import analysis
from indexer.errors import IndexCorrupt
from indexer.history import FILE_NAME as HISTORY_FILE
from indexer.history import PastCase, WorkOrderHistory
from indexer.hits import IndexStatus, SearchHit
from indexer.index import SearchIndex
from indexer.routing import CategorySuggestion, DepartmentProfiles, DepartmentSuggestion, Router
from kb.alerts import Alert, AlertLexicon
from kb.deadlines import DEFAULT_RULES, DeadlineRule, compute_due_at, rules_from_records
from kb.dto import Changes, WorkOrderView
from kb.paths import AppPaths
from kb.place import Gazetteer, Place
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

DEADLINE_SETTING = "deadline_rules"
# Search hits fetched per suggestion: the first ``limit`` are the answers, all vote for their department.
ROUTING_HITS = 10
# Beside the index: the id of the database the index and the history were built from (KnowledgeBase.database_id).
DATABASE_ID_FILE = "database.id"
# Work orders saved on other seats start the history's catch-up (two hours re-read) at most this often.
HISTORY_CATCH_UP_MIN_S = 30.0


@dataclass(frozen=True)
class Suggestion:
    """Everything the suggestion pane shows for one call description."""

    answers: tuple[SearchHit, ...] = ()
    departments: tuple[DepartmentSuggestion, ...] = ()
    categories: tuple[CategorySuggestion, ...] = ()
    alerts: tuple[Alert, ...] = ()
    repeat: tuple[WorkOrderView, ...] = ()
    place: Place = field(default_factory=lambda: Place(None, None, ""))
    urgency: str = "normal"
    due_at: datetime | None = None
    similar_open: tuple[PastCase, ...] = ()  # open cases at the same place with similar text

    def to_json(self) -> dict[str, Any]:
        """The ``huiyin suggest`` response fields (a stable contract: add, don't rename)."""
        return {
            "answers": [{"id": h.id, "external_id": h.external_id, "title": h.title, "score": round(h.score, 4),
                         "snippet": h.snippet, "category": h.category} for h in self.answers],
            "departments": [{"id": d.id, "external_id": d.external_id, "name": d.name, "score": d.score,
                             "reasons": list(d.reasons), "phones": d.phones} for d in self.departments],
            "categories": [{"name": c.name, "score": c.score} for c in self.categories],
            "alerts": [{"kind": a.kind, "label": a.label, "transfer_to": a.transfer_to, "script": a.script,
                        "matched": a.matched, "severity": a.severity, "emergency": a.emergency}
                       for a in self.alerts],
            "repeat": [{"id": w.id, "received_at": w.received_at.isoformat(sep=" "), "status": w.status,
                        "text": w.text[:120], "department": w.department_name, "handling": w.handling}
                       for w in self.repeat],
            "place": {"district": self.place.district, "street": self.place.street},
            "urgency": self.urgency,
            "due_at": self.due_at.isoformat(sep=" ") if self.due_at else None,
            "similar_open": [{"id": c.id, "received_at": c.received_at.isoformat(sep=" "), "status": c.status,
                              "text": c.text[:120], "district": c.district, "street": c.street,
                              "similarity": c.similarity} for c in self.similar_open],
        }


class _Lexicons:
    """Editor-maintained data the engine reads on every call, reloaded on change."""

    def __init__(self, kb: KnowledgeBase, profiles: DepartmentProfiles | None = None,
                 history: WorkOrderHistory | None = None) -> None:
        self.synonyms = kb.lexicons.synonyms()
        terms, kinds = kb.lexicons.alert_records()
        self.alerts = AlertLexicon.shared(terms, kinds)
        places = kb.lexicons.places()
        self.gazetteer = Gazetteer(places) if places else None
        # The work-order history summary (None: rules and entries only).
        self.history = history
        self.router = Router(kb.directory.departments(), kb.directory.routing_rules(), history=self.history,
                             profiles=profiles)
        stored = kb.directory.setting(DEADLINE_SETTING)
        self.deadlines: list[DeadlineRule] = (rules_from_records(stored["rules"]) if stored
                                              else list(DEFAULT_RULES))


class Engine:
    """Search, suggest and keep the index current. Safe to call from several threads.

    It starts no thread of its own: background work goes to the executor it is given.
    """

    def __init__(self, paths: AppPaths, kb: KnowledgeBase, index: SearchIndex, *,
                 history: WorkOrderHistory | None = None, background: Executor | None = None) -> None:
        """``history``: the work-order summary that routing and similar cases read (None: none).

        The department profiles (what each department's published entries are about, routing
        evidence, kept current by sync) take seconds to read on a big base. With ``background``
        they load on that executor now and suggestions route on the other evidence until it is
        done; without, they load on the first suggestion, so a plain search never waits for them.
        """
        self.paths = paths
        self.kb = kb
        self.index = index
        self.history = history
        self._closed = threading.Event()
        self._profiles = DepartmentProfiles()
        self._profiles_lock = threading.Lock()
        self._profiles_pending = background is None
        self._lex = _Lexicons(kb, self._profiles, history)
        self._sync_lock = threading.Lock()
        self._history_stale = False  # the change log named work orders the history has not caught up on
        self._history_due = 0.0  # time.monotonic() from which the next such catch-up may start
        # What the last sync applied (another seat's bulletins, scripts, ...: for the window to refresh).
        self.last_changes = Changes()
        if background is not None:
            background.submit(self._load_profiles)

    @classmethod
    def open(cls, paths: AppPaths, kb: KnowledgeBase, *, executor: Executor, sync: bool = True,
             history: WorkOrderHistory | None = None) -> Engine:
        """Open (or create) the index beside the database; with ``sync``, catch up now.

        ``executor`` runs the background work (the GUI passes its task manager's background
        pool, the command line a pool of its own): without ``sync`` the department profiles
        (routing) load there, with it on the first suggestion. ``history`` is a work-order
        summary to use as it is; by default the one beside the index is opened and caught up
        there. Either way it keeps up with ``kb`` from then on, until :meth:`close`.

        Loads jieba in this thread if it is not loaded yet (the GUI starts that
        load in the background first).
        """
        analysis.set_cache_dir(paths.cache_dir)
        analysis.load_jieba(kb.lexicons.dict_words())
        database_id = kb.database_id()
        marker = paths.index_dir / DATABASE_ID_FILE
        try:
            if marker.is_file() and marker.read_text(encoding="utf-8").strip() != database_id:
                # Built from another database (a seat moved to the center's): its revisions mean nothing here.
                log.warning("search index and history were built from another database, rebuilding them")
                (paths.index_dir / HISTORY_FILE).unlink(missing_ok=True)
                index = SearchIndex.reset(paths.index_dir)
            else:
                index = SearchIndex.open(paths.index_dir)
        except IndexCorrupt:
            log.warning("search index unreadable, recreating it from the database")
            index = SearchIndex.reset(paths.index_dir)
        marker.write_text(database_id, encoding="utf-8")
        if history is None:  # the summary beside the index, caught up in the background
            history = WorkOrderHistory.open(paths.index_dir / HISTORY_FILE)
            history.follow(kb, executor)
        else:
            history.follow(kb, executor, catch_up_now=False)
        engine = cls(paths, kb, index, history=history, background=None if sync else executor)
        if sync:
            engine.sync()
        return engine

    def close(self) -> None:
        """Stop the background work (a profile load or history catch-up ends at its next row), close the index."""
        self._closed.set()
        if self.history is not None:
            self.history.stop()
        self.index.close()

    def _load_profiles(self) -> None:
        try:
            self._profiles.load(itertools.takewhile(lambda _e: not self._closed.is_set(), self.kb.entries.iter_all()))
        except Exception:  # the base went away (closed at exit): routing goes on without profiles
            log.warning("department profiles not loaded", exc_info=True)

    # ---------------------------------------------------------------- index
    def sync(self) -> int:
        """Apply what changed in the database (on any seat) since the index's revision; returns entries touched.

        Every kind the change log names: entries go to the index; dictionary words to jieba, with a
        rebuild; synonyms, the alert lexicon, places, departments, routing rules and settings reload the
        lexicons; work orders saved elsewhere start the history's catch-up. Costs one ``max(id)`` query
        when nothing changed.
        """
        with self._sync_lock:
            touched = self._sync_locked()
        self._catch_up_history()
        return touched

    def _sync_locked(self) -> int:
        db_rev = self.kb.revision()
        if self.index.revision > db_rev:  # a different (or restored) database: start over
            return self._rebuild_locked(db_rev)
        if self.index.revision == db_rev:
            return 0
        changes = self.kb.changes_since(self.index.revision)
        self.last_changes = changes
        if changes.workorders_saved:
            self._history_stale = True
        if changes.lexicon or changes.departments or changes.rules or changes.settings:
            self.reload_lexicons()
        if changes.dictionary:  # words segment differently: every document is analysed again
            analysis.set_extra_words(self.kb.lexicons.dict_words())
            return self._rebuild_locked(changes.revision)
        if len(changes.entries_upserted) > 5000:
            return self._rebuild_locked(changes.revision)
        upserts = self.kb.entries.get_many(sorted(changes.entries_upserted))
        self.index.apply(upserts, changes.entries_deleted, changes.revision)
        self._profiles.update(upserts, changes.entries_deleted)
        return len(upserts) + len(changes.entries_deleted)

    def _catch_up_history(self) -> None:
        """Work orders saved on other seats: the history catches up (in the background), at most every
        :data:`HISTORY_CATCH_UP_MIN_S` seconds however busy the center is."""
        if not self._history_stale or self.history is None:
            return
        now = time.monotonic()
        if now < self._history_due:
            return
        self._history_stale = False
        self._history_due = now + HISTORY_CATCH_UP_MIN_S
        self.history.maybe_catch_up(now_due=True)

    def rebuild(self) -> int:
        """Build a new index beside the old one and swap (search keeps working meanwhile)."""
        with self._sync_lock:
            return self._rebuild_locked(self.kb.revision())

    def _rebuild_locked(self, revision: int) -> int:
        count = 0
        profiles = DepartmentProfiles()

        def counted() -> Any:
            nonlocal count
            for e in self.kb.entries.iter_all():
                count += 1
                profiles.update((e,))
                yield e

        self.index.rebuild(counted(), revision)
        self._profiles.replace(profiles)
        self._profiles_pending = False
        log.info("index rebuilt: %d entries at revision %d", count, revision)
        return count

    def apply_changes(self, changes: Changes) -> None:
        """After a mutation on this seat: :meth:`sync` applies it (every change is in the change log, with
        whatever the other seats changed meanwhile); this seat's work orders count in the history at once,
        so their change-log rows start no catch-up (another seat's, logged in the same moment, wait for the
        history's own periodic one)."""
        with self._sync_lock:
            stale = self._history_stale
            self._sync_locked()
            if changes.workorders:
                self._history_stale = stale
        self._catch_up_history()
        history = self._lex.history
        if history is not None:
            for wid in sorted(changes.workorders):
                history.add(self.kb.work_orders.get(wid))

    def reload_lexicons(self) -> None:
        self._lex = _Lexicons(self.kb, self._profiles, self.history)

    def index_status(self) -> IndexStatus:
        return self.index.status()

    # --------------------------------------------------------------- search
    def search(self, query: str, *, limit: int = 10, audience: str = "agent",
               today: date | None = None) -> list[SearchHit]:
        return self.index.search(query, limit=limit, audience=audience, today=today,
                                 synonyms=self._lex.synonyms)

    def alerts(self, text: str) -> list[Alert]:
        """Emergency and risk alerts: no index, no database, a few milliseconds."""
        return self._lex.alerts.detect(text)

    def locate(self, text: str) -> Place:
        gaz = self._lex.gazetteer
        return gaz.locate(text) if gaz else Place(None, None, "")

    def suggest(self, text: str, *, address: str = "", phone: str = "", request_type: str = "",
                limit: int = 5, now: datetime | None = None) -> Suggestion:
        """Answers, departments, categories, alerts, repeat calls and the deadline for a call."""
        if self._profiles_pending:
            with self._profiles_lock:
                if self._profiles_pending:
                    self._load_profiles()
                    self._profiles_pending = False
        lex = self._lex
        alerts = tuple(lex.alerts.detect(text))
        place = self.locate(address) if address.strip() else Place(None, None, "")
        if place.district is None:
            from_text = self.locate(text)
            place = Place(place.district or from_text.district, place.street or from_text.street,
                          place.matched or from_text.matched)
        hits = (self.index.suggest(text, limit=max(limit, ROUTING_HITS), synonyms=lex.synonyms)
                if text.strip() else [])
        nearest: list[PastCase] = []
        similar_open: tuple[PastCase, ...] = ()
        if lex.history is not None:
            lex.history.maybe_catch_up()  # picks up work orders saved since (on the background executor)
            if text.strip():
                nearest = lex.history.similar(text, limit=30, min_similarity=0.2)
                if place.district:  # open cases at the same place with similar text
                    similar_open = tuple(c for c in nearest if c.status != "closed" and c.similarity >= 0.35
                                         and c.district == place.district
                                         and (not place.street or c.street == place.street))[:3]
        routing = lex.router.route(text, place, hits, now=now, similar=nearest)
        repeat = tuple(self.kb.work_orders.by_phone(phone)) if phone.strip() else ()
        # A live danger (the alert kind's severity) has the 1-hour deadline; a risk (群体风险, 消防隐患) 2 hours.
        urgency = ("danger" if any(a.emergency for a in alerts)
                   else "urgent" if alerts else "normal")
        due_at = compute_due_at((now or datetime.now()).replace(microsecond=0), request_type or "help", urgency,
                                lex.deadlines) if text.strip() else None
        return Suggestion(answers=tuple(hits[:limit]), departments=routing.departments,
                          categories=routing.categories, alerts=alerts, repeat=repeat, place=place,
                          urgency=urgency, due_at=due_at, similar_open=similar_open)
