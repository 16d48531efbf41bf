#!/usr/bin/env python3
"""Cut-out quality on real photos with ground truth, AlphaLift beside rembg on the same weights.

    python benchmarks/quality.py ../shared/datasets            # every set found there
    python benchmarks/quality.py ../shared/datasets/ecssd-dev --limit 50

A set with trimap/ is scored as soft mattes (SAD/1000, MSE x1000, Grad/1000, Conn/1000, lower is
better), one without as binary masks (MAE lower, IoU and max F-beta higher, beta^2 = 0.3; maxF is the
benchmarks' definition, one threshold for the set; maxF/img lets each image pick its own). Methods:
the model's raw probability, AlphaLift refined (the default), rembg plain (min-max normalised
probability) and rembg with alpha_matting=True. Fully automatic: the trimaps are not used.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

MATTE_METRICS = ("SAD", "MSEx1e3", "Grad", "Conn")
MASK_METRICS = ("MAE", "IoU", "maxF/img", "maxF")


def score(alpha: np.ndarray, truth: np.ndarray, soft: bool) -> list[float]:
    if soft:
        return [metrics.sad(alpha, truth), metrics.mse(alpha, truth) * 1000,
                metrics.gradient_error(alpha, truth), metrics.connectivity_error(alpha, truth)]
    return [metrics.mae(alpha, truth), metrics.iou(alpha, truth), metrics.max_f_measure(alpha, truth)]


def find_sets(root: Path) -> list[Path]:
    if (root / "image").is_dir() and (root / "alpha").is_dir():
        return [root]
    return sorted(p for p in root.iterdir() if (p / "image").is_dir() and (p / "alpha").is_dir())


def rembg_methods(model: Path):
    import os

    try:
        from rembg import new_session, remove
    except ImportError:
        print("rembg is not installed: `pip install rembg` to compare", file=sys.stderr)
        return {}
    os.environ.setdefault("U2NET_HOME", str(model.parent))
    session = new_session("dis_custom", model_path=str(model))

    def plain(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            mask = remove(image.convert("RGB"), session=session, only_mask=True)
        return np.asarray(mask, np.float32) / 255.0

    def matting(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            result = remove(image.convert("RGB"), session=session, alpha_matting=True)
        return np.asarray(result.getchannel("A"), np.float32) / 255.0

    return {"rembg plain": plain, "rembg alpha_matting": matting}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a set folder, or a folder of sets")
    parser.add_argument("--limit", type=int, help="first N images of each set")
    parser.add_argument("--no-rembg-matting", action="store_true", help="skip the slowest method")
    args = parser.parse_args()
    if not args.dataset.is_dir():
        print(f"skipped: {args.dataset} is not there (the dev sets live beside the project)")
        return 0

    from alphalift.imageio import load_image
    from alphalift.matting import refine_matte
    from alphalift.pipeline import Remover
    from alphalift.segment import segment

    remover = Remover()
    spec = remover.store.catalog.get(None)
    backend = remover.backend_for(spec)
    others = rembg_methods(remover.store.ensure(spec))
    if args.no_rembg_matting:
        others.pop("rembg alpha_matting", None)

    for folder in find_sets(args.dataset):
        soft = (folder / "trimap").is_dir()
        names = MATTE_METRICS if soft else MASK_METRICS
        images = sorted((folder / "image").iterdir())[: args.limit]
        rows: dict[str, list[list[float]]] = {}
        curves: dict[str, list[np.ndarray]] = {}
        seconds: dict[str, float] = {}
        for path in images:
            truth = np.asarray(Image.open(folder / "alpha" / f"{path.stem}.png").convert("L"),
                               np.float32) / 255.0
            source = load_image(path)
            start = time.perf_counter()
            probability = segment(source.rgb, spec, backend)
            model_time = time.perf_counter() - start
            refined, _ = refine_matte(source.rgb, probability, spec.input_size, foreground=False)
            results = {"model probability": (probability, model_time),
                       "AlphaLift refined": (refined, time.perf_counter() - start)}
            for name, method in others.items():
                start = time.perf_counter()
                results[name] = (method(path), time.perf_counter() - start)
            for name, (alpha, took) in results.items():
                rows.setdefault(name, []).append(score(alpha, truth, soft))
                seconds[name] = seconds.get(name, 0.0) + took
                if not soft:
                    curves.setdefault(name, []).append(metrics.f_curve(alpha, truth))
        print(f"\n{folder.name}: {len(images)} images, model {spec.name}")
        print(f"{'method':22}" + "".join(f"{n:>10}" for n in names) + f"{'s/image':>10}")
        for name, values in rows.items():
            mean = list(np.mean(values, axis=0))
            if not soft:
                mean.append(metrics.dataset_max_f(curves[name]))
            print(f"{name:22}" + "".join(f"{v:10.4f}" for v in mean) + f"{seconds[name] / len(images):10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
