"""The interface every engine meets: take jobs and settings, hand back one row per job.

Engines write the outputs; the caller (job.py) owns the manifest, the progress bar and the
summary, so both engines behave the same to a user.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .manifest import Row
from .work import Job, Settings

RecordFn = Callable[[Row], None]


@dataclass(frozen=True)
class EngineOptions:
    workers: int | None = None  # local: lanes (images in flight); ray: actors
    gpus_per_worker: float = 0.0
    ray_address: str | None = None


class Engine(Protocol):
    def run(self, jobs: list[Job], settings: Settings, options: EngineOptions,
            record: RecordFn) -> None:
        """Cut out every job, calling ``record`` once per job (in any order) as each finishes."""


def engine_named(name: str) -> Engine:
    if name == "ray":
        from .ray_engine import RayEngine

        return RayEngine()
    from .local import LocalEngine

    return LocalEngine()
