"""`--engine local`: one process, one model, several images in flight.

Each lane (a thread) takes the next image, decodes it, cuts it out and encodes its output; the
model's passes take turns (each uses every core), so while one lane's image is in the network
another's is being decoded, matted or written. On a 2-core machine that keeps both cores busy
where `alphalift remove DIR` leaves them waiting on decoding and PNG writing.
"""
from __future__ import annotations

import os
import queue
import threading

from .engine import EngineOptions, RecordFn
from .work import Cutter, Job, Settings, SharedRemover

DEFAULT_LANES = 2


def lane_count(requested: int | None) -> int:
    return requested or min(DEFAULT_LANES, max(1, os.cpu_count() or 1) + 1)


class LocalEngine:
    def run(self, jobs: list[Job], settings: Settings, options: EngineOptions,
            record: RecordFn) -> None:
        remover = SharedRemover(backend=settings.backend, threads=settings.threads,
                                download=settings.download)
        cutter = Cutter(settings, remover)
        cutter.load_model()  # a model that cannot load: one error before any image
        todo: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        for job in jobs:
            todo.put(job)
        lanes = min(lane_count(options.workers), max(1, len(jobs)))
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
                    record(item)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=0 if finished < lanes else None)
