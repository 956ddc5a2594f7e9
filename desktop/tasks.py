"""Background work for the GUI: the only module that starts threads.

An :class:`Op` runs a function on a worker and delivers its result (or its
exception) to callbacks on the main thread::

    Op(self, lambda: engine.search(text)).key("search").success(self._show).run()

* Writes (``writes=True``: database commits and index updates) go to one
  single-worker executor, so SQLite and whoosh only ever see one writer, in order.
* Local file writes (``files=True``: the call's draft) have a single worker of
  their own, in order, never queued behind a database write that hangs.
* Reads (searches, suggestions, lookups) go to a small pool.
* Long background jobs of the engine (loading jieba and the routing profiles,
  catching the work-order history up) run on :attr:`TaskManager.background`, a
  pool of their own, so searches never queue behind them. They are plain
  ``Executor.submit`` jobs, not Ops: no result comes back to the main thread.
* Ops sharing a ``key`` form a generation: only the result of the newest one is
  delivered, the others are dropped (a stale suggestion never overwrites a fresh one).
* Callbacks are skipped when the parent QObject was destroyed meanwhile.

``fn`` must not touch widgets: Qt widgets may only be used on the main thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Workers of the background pool: jieba, the department profiles and a history catch-up can all run at once.
BACKGROUND_WORKERS = 3


class _Bridge(QObject):
    """Lives on the main thread; a signal emitted from a worker is queued onto it."""

    deliver = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        # Always queued: even when the op finished before ``add_done_callback`` (then the done
        # callback runs on the main thread), callbacks run later from the event loop, never inside run().
        self.deliver.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, closure: Callable[[], None]) -> None:
        closure()


class TaskManager:
    """Owns the executors; one per application (tests may build their own)."""

    def __init__(self, read_workers: int = 3) -> None:
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("TaskManager needs a QCoreApplication")
        self._main_thread = app.thread()
        self._bridge = _Bridge()
        self._bridge.moveToThread(self._main_thread)
        self._write = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huiyin-write")
        self._read = ThreadPoolExecutor(max_workers=read_workers, thread_name_prefix="huiyin-read")
        self._files = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huiyin-files")
        self._background = ThreadPoolExecutor(max_workers=BACKGROUND_WORKERS, thread_name_prefix="huiyin-background")
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending = 0
        self.closed = False

    @property
    def background(self) -> Executor:
        """The pool the engine's long background jobs run on (``indexer`` takes it as its executor)."""
        return self._background

    # ------------------------------------------------------------ internals
    def on_main_thread(self) -> bool:
        return QThread.currentThread() is self._main_thread

    def next_generation(self, key: str) -> int:
        with self._lock:
            gen = self._generations.get(key, 0) + 1
            self._generations[key] = gen
            return gen

    def is_current(self, key: str, generation: int) -> bool:
        with self._lock:
            return self._generations.get(key, 0) == generation

    def invalidate(self, key: str) -> None:
        """Drop whatever result of ``key`` is still in flight."""
        self.next_generation(key)

    def submit(self, fn: Callable[[], Any], done: Callable[[Future[Any]], None], *, writes: bool,
               files: bool = False) -> None:
        if self.closed:
            log.debug("task manager closed; op dropped")
            return
        executor = self._files if files else self._write if writes else self._read
        with self._lock:
            self._pending += 1

        def release() -> None:
            with self._lock:
                self._pending -= 1

        def deliver(fut: Future[Any]) -> None:
            # Runs on the main thread; the op counts as pending until its callback has run,
            # so "pending == 0" really means "nothing left to do" (wait_idle, shutdown, tests).
            try:
                done(fut)
            finally:
                release()

        def finished(fut: Future[Any]) -> None:
            if self.closed or not shiboken6.isValid(self._bridge):
                release()
                return
            self._bridge.deliver.emit(lambda: deliver(fut))

        executor.submit(fn).add_done_callback(finished)

    @property
    def pending(self) -> int:
        """Ops submitted whose callbacks have not run yet on the main thread."""
        with self._lock:
            return self._pending

    def shutdown(self, wait: bool = True) -> None:
        """Finish queued writes (nothing typed is lost), abandon reads and queued background jobs.

        A background job already running is not waited for here: closing the engine makes it stop.
        """
        self.closed = True
        self._read.shutdown(wait=False, cancel_futures=True)
        self._background.shutdown(wait=False, cancel_futures=True)
        self._files.shutdown(wait=wait)
        self._write.shutdown(wait=wait)


class Op(Generic[T]):
    """One background operation with success/failure callbacks on the main thread."""

    def __init__(self, tasks: TaskManager, parent: QObject | None, fn: Callable[[], T], *,
                 writes: bool = False, files: bool = False) -> None:
        self._tasks = tasks
        self._parent = parent
        self._fn = fn
        self._writes = writes
        self._files = files
        self._key: str | None = None
        self._on_success: Callable[[T], None] | None = None
        self._on_failure: Callable[[BaseException], None] | None = None
        self._on_done: Callable[[], None] | None = None

    def key(self, key: str) -> Op[T]:
        """Only the newest op of this key delivers its result."""
        self._key = key
        return self

    def success(self, cb: Callable[[T], None]) -> Op[T]:
        self._on_success = cb
        return self

    def failure(self, cb: Callable[[BaseException], None]) -> Op[T]:
        self._on_failure = cb
        return self

    def finally_(self, cb: Callable[[], None]) -> Op[T]:
        """Called after success or failure (not when the result is stale)."""
        self._on_done = cb
        return self

    def run(self) -> None:
        if not self._tasks.on_main_thread():
            raise RuntimeError("Op.run() must be called on the main thread")
        generation = self._tasks.next_generation(self._key) if self._key else 0

        def done(fut: Future[T]) -> None:
            if self._key and not self._tasks.is_current(self._key, generation):
                return  # a newer op of the same key was started: this result is stale
            if self._parent is not None and not shiboken6.isValid(self._parent):
                return
            exc = fut.exception()
            try:
                if exc is None:
                    if self._on_success is not None:
                        self._on_success(fut.result())
                elif self._on_failure is not None:
                    self._on_failure(exc)
                else:
                    # No handler: a bug, not a condition the caller expected.
                    raise exc
            finally:
                if self._on_done is not None:
                    self._on_done()

        self._tasks.submit(self._fn, done, writes=self._writes, files=self._files)
