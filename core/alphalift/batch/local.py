"""`--engine local`: one process, one model, several images in flight.

Each lane (a thread) takes the next image, decodes it, cuts it out and encodes its output. The
model runs one pass per lane at once where the backend can (OpenVINO's throughput streams, the
cores split between them), else the passes take turns; either way, while one lane's image is in
the network another's is being decoded, matted or written. `alphalift remove DIR` leaves cores
waiting: its network pass's threads wait on each other, and the matting stage and PNG writing
use one core. A Ray actor runs its share of the job through the same lanes.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from .engine import EngineOptions, RecordFn
from .manifest import Row
from .work import Cutter, Job, Settings, SharedRemover

DEFAULT_LANES = 2


class LocalEngine:
    def run(self, jobs: list[Job], settings: Settings, options: EngineOptions,
            record: RecordFn) -> None:
        lanes = max(1, min(options.workers or DEFAULT_LANES, len(jobs)))
        remover = SharedRemover(backend=settings.backend, threads=settings.threads,
                                download=settings.download, lanes=lanes)
        cutter = Cutter(settings, remover)
        cutter.load_model()  # a model that cannot load: one error before any image
        for row in cut_in_lanes(cutter, jobs, lanes):
            record(row)


def cut_in_lanes(cutter: Cutter, jobs: list[Job], lanes: int) -> Iterator[Row]:
    """Rows in the order the images finish; ``cutter`` must hold a SharedRemover when lanes > 1."""
    lanes = max(1, min(lanes, len(jobs)))
    if lanes == 1:
        for job in jobs:
            yield cutter.cut(job)
        return
    todo: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    for _ in range(lanes):
        todo.put(None)
    done: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def lane() -> None:
        try:
            while not stop.is_set():
                job = todo.get()
                if job is None:
                    break
                done.put(cutter.cut(job))
        except BaseException as exc:  # pragma: no cover - cut() turns failures into rows
            done.put(exc)
        finally:
            done.put(None)

    threads = [threading.Thread(target=lane, name=f"alphalift-lane-{i}", daemon=True)
               for i in range(lanes)]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < lanes:
            item = done.get()
            if item is None:
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()  # a consumer that stops early: lanes end after their current image
