"""Which file holds which frame of an image sequence, and where each frame's matte goes.

Pure Python (no bpy), so it is unit-tested in ordinary pytest.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Dict, Iterable, List, Optional

TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)(\.[^.]*)$")


def sequence_path(first_path: str, number: int) -> str:
    """The file of frame ``number`` in the sequence that ``first_path`` belongs to (as Blender
    numbers them: the last run of digits before the extension, zero-padded to its width)."""
    folder, name = os.path.split(first_path)
    match = TRAILING_NUMBER.match(name)
    if match is None:
        raise ValueError(f"{name} has no frame number; an image sequence needs names like frame_0001.png")
    prefix, digits, suffix = match.groups()
    return os.path.join(folder, f"{prefix}{number:0{len(digits)}d}{suffix}")


def file_number(scene_frame: int, node_start: int, node_offset: int) -> int:
    """The sequence number an Image node shows at ``scene_frame`` (its Start Frame and Offset)."""
    return scene_frame - node_start + 1 + node_offset


@dataclass(frozen=True)
class FrameJob:
    number: int  # the sequence number (1 for a still)
    source: str
    mask: str
    foreground: str  # "" when not decontaminating
    origin: str = ""  # the file the frame comes from when that is not ``source`` (a movie)
    # The worker's "prompt" at this frame (box and points in pixels: prompt_place.py), or None.
    prompt: Optional[dict] = field(default=None, hash=False)


def with_prompt(job: FrameJob, prompt: Optional[dict]) -> FrameJob:
    """``job`` with what the user said the subject is at its frame."""
    return replace(job, prompt=prompt)


def frame_jobs(source: str, kind: str, numbers: Iterable[int], cache: str,
               decontaminate: bool) -> List[FrameJob]:
    """One job a frame of a STILL, SEQUENCE or MOVIE; outputs carry the source's own numbers so one
    Image node maps both alike. A movie's frames are first read out to PNGs in the cache."""
    jobs = []
    for number in (sorted(set(numbers)) if kind != "STILL" else [1]):
        mask = os.path.join(cache, f"matte_{number:04d}.png")
        foreground = os.path.join(cache, f"foreground_{number:04d}.png") if decontaminate else ""
        if kind == "MOVIE":
            frame = os.path.join(cache, f"source_{number:04d}.png")
            jobs.append(FrameJob(number, frame, mask, foreground, origin=source))
        else:
            path = sequence_path(source, number) if kind == "SEQUENCE" else source
            jobs.append(FrameJob(number, path, mask, foreground))
    return jobs


@dataclass(frozen=True)
class Step:
    """One request of a Temporal smoothing run: a frame to cut (``warm_up``: into the worker's
    session only, writing nothing), ``start`` when it begins a new shot."""

    job: FrameJob
    warm_up: bool
    start: bool


def sequence_steps(jobs: List[FrameJob], stale: List[FrameJob]) -> List[Step]:
    """The requests that recompute ``stale`` (some of ``jobs``, the planned frames) with temporal
    smoothing. A run of consecutive stale frames goes on from the frame before it when that frame
    is planned (fresh): it is sent first as a warm-up, so the worker goes on from it (exactly as a
    full run when it already holds it). With no frame before (the range's first, or a missing
    source file) the run starts a new shot. So a whole range is one shot, as in the CLI's --sequence."""
    planned = {job.number: job for job in jobs}
    steps: List[Step] = []
    previous = None
    for job in sorted(stale, key=lambda j: j.number):
        if previous is None or job.number != previous + 1:
            before = planned.get(job.number - 1)
            if before is not None:
                steps.append(Step(before, warm_up=True, start=False))
            steps.append(Step(job, warm_up=False, start=before is None))
        else:
            steps.append(Step(job, warm_up=False, start=False))
        previous = job.number
    return steps


class MatteCache:
    """manifest.json in the cache folder: what each output was made from, so only stale frames rerun."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = os.path.join(folder, "manifest.json")
        try:
            with open(self.path, encoding="utf-8") as handle:
                self.entries: Dict[str, str] = json.load(handle)
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def fingerprint(job: FrameJob, options: Dict[str, object]) -> str:
        origin = job.origin or job.source
        status = os.stat(origin)
        key = [origin, job.number, status.st_size, status.st_mtime_ns, options]
        if job.prompt:  # left out when there is none: mattes cached before prompts stay fresh
            key.append(job.prompt)
        data = json.dumps(key, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()

    def is_fresh(self, job: FrameJob, options: Dict[str, object]) -> bool:
        outputs = [job.mask, job.source] + ([job.foreground] if job.foreground else [])
        return (all(os.path.exists(p) for p in outputs)
                and self.entries.get(job.mask) == self.fingerprint(job, options))

    def record(self, job: FrameJob, options: Dict[str, object]) -> None:
        self.entries[job.mask] = self.fingerprint(job, options)
        os.makedirs(self.folder, exist_ok=True)
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.entries, handle, indent=1)
        os.replace(temporary, self.path)
