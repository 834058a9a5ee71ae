"""An ordered map over worker processes for CPU-bound row work (hashing, encryption, validation).

Chunks go out to a pool of spawned processes and come back in input order, with at most a few
chunks in flight per worker, so that a stream of any length keeps memory flat and the consumer
(a COPY into the database) works while the workers compute.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

IN_FLIGHT_PER_WORKER = 3


def default_workers() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ordered_map(
    work: Callable[[In], Out],
    chunks: Iterable[In],
    *,
    workers: int,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[Out]:
    """Yield `work(chunk)` for each chunk, in order, computed on `workers` processes.

    `work` and `initializer` must be module-level functions (they are pickled by name). With one
    worker or fewer, or a single chunk, the work runs in this process, after `initializer`, with no
    pool at all (starting one costs a second).
    """
    iterator = iter(chunks)
    head = list(itertools.islice(iterator, 2))
    chunks = itertools.chain(head, iterator)
    if workers <= 1 or len(head) < 2:
        if initializer is not None:
            initializer(*initargs)
        yield from map(work, chunks)
        return
    # Spawned, not forked: the caller may hold threads (a server) and open database connections.
    context = multiprocessing.get_context("spawn")
    window: deque[Future[Out]] = deque()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=initializer, initargs=initargs
    ) as pool:
        try:
            for chunk in chunks:
                window.append(pool.submit(work, chunk))
                if len(window) >= workers * IN_FLIGHT_PER_WORKER:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()
