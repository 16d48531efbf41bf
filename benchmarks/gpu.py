#!/usr/bin/env python3
"""The CUDA execution provider: does AlphaLift choose it, does it agree with the CPU, how fast.

    python benchmarks/gpu.py [--runs 5] [--sizes 1920x1080,4000x3000] [--json report.json]

Needs `onnxruntime-gpu` and an NVIDIA GPU; where either is missing it says so and stops. The
same photo goes through the default model on the GPU (the original fp16 file, as the model store
hands it to a GPU) and on the CPU provider (the fp32 conversion); the two probabilities are
compared, then the whole cut-out, plain and refined, is timed on the GPU. Numbers go in
benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import make_photo  # noqa: E402
from timing import median_seconds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1920x1080,4000x3000")
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import onnxruntime as ort

    from alphalift.engine.onnxruntime import OnnxRuntimeBackend
    from alphalift.imageio import load_image
    from alphalift.pipeline import Remover
    from alphalift.segment import segment

    available = ort.get_available_providers()
    print(f"onnxruntime {ort.__version__}; providers: {', '.join(available)}")
    if "CUDAExecutionProvider" not in available:
        print("no CUDA execution provider here: install onnxruntime-gpu on a machine with an NVIDIA GPU")
        return 0
    remover = Remover()  # the product's own choice: "auto"
    spec = remover.store.catalog.get(args.model)
    backend = remover.backend_for(spec)
    report = {"onnxruntime": ort.__version__, "model": spec.name, "backend": backend.name,
              "providers": getattr(backend, "providers", []), "device": backend.device, "sizes": {}}
    print(f"AlphaLift chose {backend.name} on the {backend.device}: {report['providers']}")
    cpu_session = ort.InferenceSession(str(remover.store.runtime_path(spec, "cpu")),
                                       providers=["CPUExecutionProvider"])
    cpu = OnnxRuntimeBackend(cpu_session, "cpu")

    with tempfile.TemporaryDirectory() as folder:
        for text in args.sizes.split(","):
            size = tuple(int(v) for v in text.split("x"))
            source = load_image(make_photo(size, Path(folder)))
            on_gpu = segment(source.rgb, spec, backend)
            on_cpu = segment(source.rgb, spec, cpu)
            difference = np.abs(on_gpu - on_cpu)
            agree = ((on_gpu > 0.5) == (on_cpu > 0.5)).mean()
            row = {
                "max_abs_difference": float(difference.max()),
                "mean_abs_difference": float(difference.mean()),
                "same_side_of_0.5": float(agree),
                "segment_gpu_s": median_seconds(lambda: segment(source.rgb, spec, backend), args.runs),
                "segment_cpu_s": median_seconds(lambda: segment(source.rgb, spec, cpu), max(1, args.runs // 2)),
                "plain_s": median_seconds(lambda: remover.remove(source, refine=False), args.runs),
                "refined_s": median_seconds(lambda: remover.remove(source, refine=True), args.runs),
            }
            report["sizes"][text] = row
            print(f"{text}: GPU vs CPU probability max |diff| {row['max_abs_difference']:.4f}, "
                  f"mean {row['mean_abs_difference']:.5f}, same side of 0.5 {agree:.5f}; "
                  f"segment {row['segment_gpu_s']:.3f} s GPU / {row['segment_cpu_s']:.3f} s CPU; "
                  f"cut-out plain {row['plain_s']:.3f} s, refined {row['refined_s']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
