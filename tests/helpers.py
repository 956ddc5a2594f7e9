"""Test doubles and test data shared by the tests and bench/ (no Qt, no database).

* :func:`make_entry` builds an :class:`~kb.dto.EntryView` without the database
  (the indexer tests and the search benchmark index such entries directly).
* :class:`InlineExecutor` runs a background job at once in the caller's thread
  (deterministic tests of code that takes an executor).
* :class:`QueuedExecutor` keeps the jobs until the test runs them: a test sees
  what was started, and decides when it runs.
* :class:`ManualClock` is a monotonic clock the test moves forward.
* :func:`editor` and :func:`agent` are the :class:`~kb.actor.Actor` of a knowledge
  editor and of an agent at a seat (the system is ``Actor.system(name)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from datetime import date, datetime
from typing import Any, TypeVar

from kb.actor import Actor
from kb.dto import EntryView

T = TypeVar("T")
_EPOCH = datetime(2024, 1, 1)


def make_entry(
    entry_id: int,
    title: str,
    answer: str,
    *,
    external_id: str = "",
    aliases: Sequence[str] = (),
    keywords: Sequence[str] = (),
    category: str = "",
    department: str = "",
    basis: str = "",
    valid_from: date | None = None,
    valid_to: date | None = None,
    status: str = "published",
    revision: int = 1,
) -> EntryView:
    """An EntryView with bookkeeping fields filled in."""
    return EntryView(
        id=entry_id,
        external_id=external_id or f"E-{entry_id:05d}",
        title=title,
        answer=answer,
        aliases=tuple(aliases),
        keywords=tuple(keywords),
        category=category,
        department_id=None,
        department_external_id="",
        department_name=department,
        basis=basis,
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
        revision=revision,
        created_at=_EPOCH,
        created_by="bench",
        updated_at=_EPOCH,
        updated_by="bench",
    )


IMPORT = Actor.system("import")  # a file import from the command line (recorded as "import")


def editor(name: str) -> Actor:
    """A knowledge editor (may edit, review and publish entries, the directory and the lexicons)."""
    return Actor(name, "editor")


def agent(name: str) -> Actor:
    """An agent at a seat (saves work orders, sends feedback; edits nothing)."""
    return Actor(name, "agent")


def _run(fut: Future[T], fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if not fut.set_running_or_notify_cancel():
        return
    try:
        fut.set_result(fn(*args, **kwargs))
    except BaseException as exc:
        fut.set_exception(exc)


class InlineExecutor(Executor):
    """Runs every job at once, in the thread that submits it."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self.submitted += 1
        fut: Future[T] = Future()
        _run(fut, fn, args, kwargs)
        return fut


class QueuedExecutor(Executor):
    """Keeps submitted jobs until :meth:`run_all`; refuses new ones after :meth:`shutdown`, as a real pool does."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self.names: list[str] = []
        self._shut = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self._shut:
            raise RuntimeError("cannot schedule new futures after shutdown")
        fut: Future[T] = Future()
        self.jobs.append((fut, fn, args, kwargs))
        self.names.append(getattr(fn, "__name__", repr(fn)))
        return fut

    def run_all(self) -> int:
        """Run the queued jobs (and any they queue) in this thread; returns how many ran."""
        n = 0
        while self.jobs:
            fut, fn, args, kwargs = self.jobs.pop(0)
            _run(fut, fn, args, kwargs)
            n += 1
        return n

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shut = True
        if cancel_futures:
            for fut, *_ in self.jobs:
                fut.cancel()
            self.jobs.clear()


class ManualClock:
    """A monotonic clock in seconds that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
