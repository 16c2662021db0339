r"""Overlap HDF5 writes with computation: a writer thread fed through a bounded queue.

``with BackgroundAppender(writer) as sink: sink.append(...)`` hands each chunk to one thread that
calls ``writer.append(...)`` in order, so the next chunk is computed while the last is copied to
the host and written. The queue holds at most ``depth`` chunks (memory stays bounded: at most
``depth + 1`` chunks alive besides the one being computed). An exception in the thread is raised
in the caller at its next :meth:`~BackgroundAppender.append` or at :meth:`~BackgroundAppender.close`;
the order of the writes, and hence the file, is the same as with synchronous appends.

Torch and h5py release the GIL in their heavy calls, so the overlap is real on CUDA (kernels run
while the host writes) and partial on the CPU; pdesym uses it by default on CUDA only.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

__all__ = ["BackgroundAppender"]

_STOP = object()


class BackgroundAppender:
    """Call ``target.append(*args, **kwargs)`` on a background thread, in submission order."""

    def __init__(self, target: Any, *, depth: int = 2) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.target = target
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pdesym-writer", daemon=True)
        self._thread.start()
        self._closed = False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is None:  # after a failure, drain without writing
                    args, kwargs = item
                    self.target.append(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, never lost in the thread
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise_pending(self) -> None:
        if self._error is not None:  # sticky: nothing more is written after a failure
            raise self._error

    def append(self, *args: Any, **kwargs: Any) -> None:
        """Queue one ``append`` (blocks while ``depth`` chunks are waiting)."""
        if self._closed:
            raise RuntimeError("BackgroundAppender is closed")
        self._raise_pending()
        self._queue.put((args, kwargs))

    def flush(self) -> None:
        """Wait until every queued append has been written; raise its error if one failed."""
        self._queue.join()
        self._raise_pending()

    def close(self) -> None:
        """Write what is queued, stop the thread, raise a pending error."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
        self._raise_pending()

    def __enter__(self) -> "BackgroundAppender":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # the caller's exception wins; queued chunks are still written (they are complete)
            self.close()
        except BaseException:
            pass
