#!/usr/bin/env python3
"""Batch throughput: `alphalift remove DIR` (one image after another) against `alphalift batch`
with the local engine and with Ray (1 and 2 actors), on the same photos and the real model.

    python benchmarks/batch.py ../shared/datasets/ecssd-dev [--count 200] [--size 1920x1080]
                               [--configs remove,local,ray1,ray2]

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


def run(name: str, source: Path, dest: Path, images: int, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "alphalift",
               *(part.format(src=source, dest=dest) for part in CONFIGS[name]), *extra]
    with ActorMemory() as actors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        stdout, stderr = process.stdout.read(), process.stderr.read()
    if status != 0:
        raise SystemExit(f"{name} failed ({status}): {stderr[-2000:]}")
    result = {"config": name, "images": images, "wall_s": round(wall, 1),
              "images_per_s": round(images / wall, 3),
              "cli_peak_rss_gb": round(usage.ru_maxrss * 1024 / 1e9, 2)}  # KiB on Linux
    if actors.peaks:
        result["actor_peak_rss_gb"] = round(max(actors.peaks.values()) / 1e9, 2)
    finished = sorted(p.stat().st_mtime for p in dest.rglob("*.png"))
    if len(finished) > 1 and finished[-1] > finished[0]:
        result["steady_images_per_s"] = round((len(finished) - 1) / (finished[-1] - finished[0]), 3)
    result["load_avg_1m_at_end"] = os.getloadavg()[0]
    manifest = dest / "alphalift-manifest.jsonl"
    if manifest.exists():
        rows = [json.loads(line) for line in manifest.read_text().splitlines()]
        result["mean_image_s"] = round(sum(row["seconds"] for row in rows) / len(rows), 3)
        result["workers"] = len({row["worker"] for row in rows})
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a folder with image/ (e.g. ../shared/datasets/ecssd-dev)")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", help="resize every photo to WxH (e.g. 1920x1080)")
    parser.add_argument("--configs", default="remove,local,ray1,ray2")
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
    with tempfile.TemporaryDirectory(prefix="alphalift-bench-batch-") as work:
        source = Path(work) / "photos"
        images = prepare(args.dataset, args.count, size, source)
        print(json.dumps({"photos": images, "size": args.size or "as in the dataset",
                          "cpus": os.cpu_count(), "home": os.environ.get("ALPHALIFT_HOME", "default")}))
        extra = ["--model", args.model] if args.model else []
        results = [run(name, source, Path(work) / f"out-{name}", images, extra) for name in names]
    by_name = {result["config"]: result for result in results}
    if "remove" in by_name and "local" in by_name:
        print(f"local / remove throughput: {by_name['local']['images_per_s'] / by_name['remove']['images_per_s']:.2f}x")
    if "local" in by_name and "ray1" in by_name:
        local, ray1 = by_name["local"], by_name["ray1"]
        print(f"ray1 / local throughput: {ray1['images_per_s'] / local['images_per_s']:.2f}x; "
              f"Ray's overhead per image: {(ray1['wall_s'] - local['wall_s']) / images:.3f} s "
              f"(whole run), {1 / ray1.get('steady_images_per_s', 1) - 1 / local.get('steady_images_per_s', 1):.3f} s (steady state)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
