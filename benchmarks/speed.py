#!/usr/bin/env python3
"""End-to-end speed and peak memory, AlphaLift beside rembg on the same weights and threads.

    python benchmarks/speed.py [--runs 5] [--threads 2] [--sizes 640x480,1920x1080,4000x3000]

Each configuration runs in its own process (so peak RSS is its own): one untimed warm-up, then
``--runs`` timed runs of decode -> cut-out -> PNG written; the median is reported. rembg uses a
`dis_custom` session on the same ISNet file AlphaLift fetched. Numbers go in benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNNER = r"""
import json, os, resource, sys, time
from pathlib import Path
kind, source, out, runs, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
times = []
if kind.startswith("alphalift"):
    from alphalift.imageio import load_image, save_png
    from alphalift.pipeline import Remover
    backend = kind.split(":")[1]
    refine = kind.split(":")[2] == "refined"
    remover = Remover(backend=backend, threads=threads)
    def once():
        cut = remover.remove(load_image(Path(source)), refine=refine)
        save_png(cut.to_image("rgba"), Path(out), icc_profile=cut.icc_profile)
    used = None
else:
    import onnxruntime as ort
    from PIL import Image
    from rembg import new_session, remove
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = new_session("dis_custom", model_path=os.environ["BENCH_MODEL"], sess_opts=options)
    matting = kind == "rembg:alpha_matting"
    def once():
        with Image.open(source) as image:
            result = remove(image, session=session, alpha_matting=matting)
        result.save(out)
for index in range(runs + 1):
    start = time.perf_counter()
    once()
    if index:
        times.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"times": times, "peak_rss": peak}))
"""


def make_photo(size: tuple[int, int], folder: Path) -> Path:
    """scikit-image's public-domain astronaut, resized, saved as a camera-like JPEG."""
    import skimage.data
    from PIL import Image

    path = folder / f"photo-{size[0]}x{size[1]}.jpg"
    Image.fromarray(skimage.data.astronaut()).resize(size, Image.LANCZOS).save(path, quality=95)
    return path


def measure(kind: str, photo: Path, runs: int, threads: int, model: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BENCH_MODEL": str(model), "U2NET_HOME": str(model.parent)}
        done = subprocess.run([sys.executable, "-c", RUNNER, kind, str(photo), f"{tmp}/out.png",
                               str(runs), str(threads)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sizes", default="640x480,1920x1080,4000x3000")
    parser.add_argument("--matting-runs", type=int, default=1,
                        help="runs of rembg alpha_matting=True (about a minute each at 12 MP)")
    args = parser.parse_args()

    from alphalift.models import ModelStore

    store = ModelStore()
    spec = store.catalog.get(None)
    model = store.ensure(spec)
    kinds = ["alphalift:onnxruntime:plain", "alphalift:onnxruntime:refined"]
    try:
        import openvino  # noqa: F401
        kinds += ["alphalift:openvino:plain", "alphalift:openvino:refined"]
    except ImportError:
        pass
    try:
        import rembg  # noqa: F401
        kinds += ["rembg:plain", "rembg:alpha_matting"]
    except ImportError:
        print("rembg is not installed: `pip install rembg` to compare", file=sys.stderr)

    print(f"model {spec.name} ({model.name}), threads {args.threads}, median of {args.runs} runs")
    print(f"{'size':>10}  {'configuration':32} {'median s':>9} {'min s':>7} {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for text in args.sizes.split(","):
            width, height = map(int, text.lower().split("x"))
            photo = make_photo((width, height), Path(tmp))
            for kind in kinds:
                runs = args.matting_runs if kind == "rembg:alpha_matting" else args.runs
                if runs < 1:
                    continue
                result = measure(kind, photo, runs, args.threads, model)
                if "error" in result:
                    print(f"{text:>10}  {kind:32} failed: {result['error']}")
                    continue
                times = result["times"]
                print(f"{text:>10}  {kind:32} {statistics.median(times):9.2f} {min(times):7.2f} "
                      f"{result['peak_rss'] / 2**30:7.2f} GB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
