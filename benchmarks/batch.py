#!/usr/bin/env python3
"""Batch throughput: `alphalift remove DIR` (one image after another) against `alphalift batch`
with the local engine and with Ray (1 and 2 actors), on the same photos and the real model.

    python benchmarks/batch.py ../shared/datasets/ecssd-dev [--count 200] [--size 1920x1080]
                               [--configs remove,local,ray1,ray2] [--rounds 1]

The photos are the dataset's first ``--count`` images (``image/*``), as they are or resized to
``--size`` (saved as JPEG, quality 92). Each configuration is the real CLI in its own process,
into an empty folder, timed wall clock from start to exit (model load and, for Ray, starting a
local cluster included). Reported per configuration: images/s over the whole run, images/s
in steady state (from the first output written to the last, by their modification times), the
mean seconds one image took in its worker, and the peak RSS of each process holding the model
(the CLI for remove/local, each Ray actor), and the load average when it ended (the machine
may be shared). Skips cleanly when the dataset is absent.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CONFIGS = {
    "remove": ["remove", "{src}", "--out-dir", "{dest}"],
    "local": ["batch", "{src}", "{dest}"],
    "ray1": ["batch", "{src}", "{dest}", "--engine", "ray", "--workers", "1"],
    "ray2": ["batch", "{src}", "{dest}", "--engine", "ray", "--workers", "2"],
}


def prepare(dataset: Path, count: int, size: tuple[int, int] | None, folder: Path) -> int:
    from PIL import Image

    images = sorted(p for p in (dataset / "image").iterdir() if p.is_file())[:count]
    folder.mkdir(parents=True)
    for path in images:
        if size is None:
            shutil.copy(path, folder / path.name)
            continue
        with Image.open(path) as image:
            image.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(
                folder / f"{path.stem}.jpg", quality=92)
    return len(images)


class ActorMemory:
    """The peak RSS (VmHWM) of every process whose command line names CutoutActor, polled."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "ActorMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    if b"CutoutActor" not in (proc / "cmdline").read_bytes():
                        continue
                    for line in (proc / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak = int(line.split()[1]) * 1024
                            self.peaks[int(proc.name)] = max(peak, self.peaks.get(int(proc.name), 0))
                except OSError:
                    continue


def run(name: str, source: Path, dest: Path, extra: list[str]) -> dict:
    """One configuration on one folder of photos, in its own process."""
    command = [sys.executable, "-m", "alphalift",
               *(part.format(src=source, dest=dest) for part in CONFIGS[name]), *extra]
    with ActorMemory() if name.startswith("ray") else contextlib.nullcontext(ActorMemory()) as actors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        stderr = process.stderr.read()
    if status != 0:
        raise SystemExit(f"{name} failed ({status}): {stderr[-2000:]}")
    finished = sorted(p.stat().st_mtime for p in dest.rglob("*.png"))
    result = {"config": name, "images": len(finished), "wall_s": round(wall, 2),
              "span_s": round(finished[-1] - finished[0], 2) if finished else 0.0,
              "cli_peak_rss_gb": round(usage.ru_maxrss * 1024 / 1e9, 2),  # ru_maxrss: KiB on Linux
              "actor_peak_rss_gb": round(max(actors.peaks.values()) / 1e9, 2) if actors.peaks else None,
              "load_avg_1m_at_end": os.getloadavg()[0]}
    manifest = dest / "alphalift-manifest.jsonl"
    if manifest.exists():
        rows = [json.loads(line) for line in manifest.read_text().splitlines()]
        result["image_s_sum"] = round(sum(row["seconds"] for row in rows), 2)
        result["workers"] = len({row["worker"] for row in rows})
    print(json.dumps(result), flush=True)
    return result


def summarise(runs: list[dict]) -> dict:
    """A configuration over all rounds: images/s over the whole runs (start-up included) and in
    steady state (first output to last, in each round)."""
    images = sum(r["images"] for r in runs)
    steady = sum(r["images"] - 1 for r in runs) / max(sum(r["span_s"] for r in runs), 1e-9)
    peaks = [r["actor_peak_rss_gb"] or r["cli_peak_rss_gb"] for r in runs]
    return {"config": runs[0]["config"], "images": images,
            "wall_s": round(sum(r["wall_s"] for r in runs), 1),
            "images_per_s": round(images / sum(r["wall_s"] for r in runs), 3),
            "steady_images_per_s": round(steady, 3),
            "peak_rss_per_worker_gb": max(peaks),
            "load_avg": [r["load_avg_1m_at_end"] for r in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a folder with image/ (e.g. ../shared/datasets/ecssd-dev)")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", help="resize every photo to WxH (e.g. 1920x1080)")
    parser.add_argument("--configs", default="remove,local,ray1,ray2")
    parser.add_argument("--rounds", type=int, default=1,
                        help="split the photos into this many parts and run every configuration on "
                             "each in turn (order rotated), so a shared machine's load falls on all alike")
    parser.add_argument("--model", help="another model than the default (e.g. a small one to try the script)")
    args = parser.parse_args()
    if not (args.dataset / "image").is_dir():
        print(f"skipped: {args.dataset}/image not found (the dev datasets are not shipped)")
        return 0
    names = args.configs.split(",")
    if any(name.startswith("ray") for name in names):
        try:
            import ray  # noqa: F401
        except ImportError:
            print("note: Ray is not installed (pip install 'alphalift[ray]'); its configurations skipped")
            names = [name for name in names if not name.startswith("ray")]
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    extra = ["--model", args.model] if args.model else []
    runs: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="alphalift-bench-batch-") as work:
        photos = Path(work) / "photos"
        count = prepare(args.dataset, args.count, size, photos)
        parts, every = [], sorted(photos.iterdir())
        for index in range(args.rounds):
            part = Path(work) / f"part{index}"
            part.mkdir()
            for photo in every[index::args.rounds]:
                photo.rename(part / photo.name)
            parts.append(part)
        print(json.dumps({"photos": count, "rounds": args.rounds, "size": args.size or "as in the dataset",
                          "cpus": os.cpu_count(), "home": os.environ.get("ALPHALIFT_HOME", "default")}))
        for index, part in enumerate(parts):
            order = names[index % len(names):] + names[:index % len(names)]
            for name in order:
                runs[name].append(run(name, part, Path(work) / f"out-{name}-{index}", extra))
    summary = {name: summarise(results) for name, results in runs.items()}
    for line in summary.values():
        print(json.dumps(line))
    if "remove" in summary and "local" in summary:
        remove, local = summary["remove"], summary["local"]
        print(f"local / remove: {local['images_per_s'] / remove['images_per_s']:.2f}x whole runs, "
              f"{local['steady_images_per_s'] / remove['steady_images_per_s']:.2f}x steady state")
    if "local" in summary and "ray1" in summary:
        local, ray1 = summary["local"], summary["ray1"]
        print(f"ray1 / local: {ray1['images_per_s'] / local['images_per_s']:.2f}x whole runs, "
              f"{ray1['steady_images_per_s'] / local['steady_images_per_s']:.2f}x steady state; "
              f"Ray's overhead per image: {(ray1['wall_s'] - local['wall_s']) / count:.3f} s over whole "
              f"runs, {1 / ray1['steady_images_per_s'] - 1 / local['steady_images_per_s']:.3f} s in steady state")
    return 0


if __name__ == "__main__":
    sys.exit(main())
