#!/usr/bin/env python3
"""Box and click prompts against ground truth, with a simulated user (Xu et al. 2016; RITM 2021).

    python benchmarks/prompts.py ../shared/datasets/alphamatting-dev
    python benchmarks/prompts.py ../shared/datasets/ecssd-dev --limit 60 --json /tmp/ecssd.json

Per image, one Remover (so its model output cache serves the clicks, as in a host):
  step 0  the automatic cut-out (no prompt);
  step 1  the truth's bounding box (alpha > 0.5) grown by 5 % of its size on each side;
  step 2+ up to 3 clicks, keeping the box and the earlier clicks. Each click goes to the pixel
          farthest from the border of the largest connected region of error ((result > 0.5) !=
          (truth > 0.5), 4-connected; the image's edge counts as border, as RITM pads it): an
          include click on missed subject, an exclude click on extra background.
A set with trimap/ (alphamatting-dev) is scored as soft mattes (SAD/1000, MSE x1000, Grad/1000,
Conn/1000), one without (ecssd-dev) as masks (IoU at 0.5, MAE). `--save DIR` keeps each step's
matte of the worst images for a look.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

CLICKS = 3
STEPS = ("automatic", "box", "box+1 click", "box+2 clicks", "box+3 clicks")
MATTE = ("SAD", "MSEx1e3", "Grad", "Conn")
MASK = ("IoU", "MAE")
# (metric, step, goal) with the goal as a ratio of step 0 (matte) or an absolute floor (mask).
MATTE_GOALS = (("SAD", 1, 0.8), ("SAD", 4, 0.6))
MASK_GOALS = (("IoU", 1, 0.93), ("IoU", 4, 0.95))


def truth_box(truth: np.ndarray, grow: float = 0.05) -> tuple[float, float, float, float]:
    """The truth's bounding box (alpha > 0.5), grown by ``grow`` of its size each side, clamped."""
    rows = np.flatnonzero((truth > 0.5).any(axis=1))
    cols = np.flatnonzero((truth > 0.5).any(axis=0))
    height, width = truth.shape
    x0, x1, y0, y1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
    dx, dy = grow * (x1 - x0), grow * (y1 - y0)
    return (max(0.0, x0 - dx), max(0.0, y0 - dy), min(float(width), x1 + dx), min(float(height), y1 + dy))


def next_click(alpha: np.ndarray, truth: np.ndarray) -> tuple[tuple[float, float], bool] | None:
    """((x, y) at a pixel centre, is_include) for the largest error region, None without error."""
    result, wanted = alpha > 0.5, truth > 0.5
    error = result != wanted
    labels, count = ndimage.label(error)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    region = labels == sizes.argmax()
    distance = ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    row, col = np.unravel_index(int(distance.argmax()), distance.shape)
    return (col + 0.5, row + 0.5), bool(wanted[row, col])


def score(alpha: np.ndarray, truth: np.ndarray, soft: bool) -> list[float]:
    if soft:
        return [metrics.sad(alpha, truth), metrics.mse(alpha, truth) * 1000,
                metrics.gradient_error(alpha, truth), metrics.connectivity_error(alpha, truth)]
    return [metrics.iou(alpha, truth), metrics.mae(alpha, truth)]


def run_image(remover, path: Path, truth: np.ndarray, soft: bool) -> dict:
    """Every step's scores, clicks and seconds for one image; the mattes (uint8) under "alphas"."""
    from alphalift.imageio import load_image
    from alphalift.prompts import Prompt

    source = load_image(path)
    steps, clicks, seconds, alphas = [], [], [], []
    prompt: Prompt | None = None
    box = truth_box(truth)
    alpha = None
    for step in range(len(STEPS)):
        if step == 1:
            prompt = Prompt(box=box)
        elif step > 1:
            click = next_click(alpha, truth)
            if click is None:  # nothing left to fix: the user stops, the result stands
                steps.append(steps[-1])
                seconds.append(0.0)
                alphas.append(alphas[-1])
                continue
            clicks.append(click)
            prompt = Prompt(box=box, include=tuple(p for p, inc in clicks if inc),
                            exclude=tuple(p for p, inc in clicks if not inc))
        start = time.perf_counter()
        alpha = remover.remove(source, foreground=False, prompt=prompt).mask
        seconds.append(time.perf_counter() - start)
        steps.append(score(alpha, truth, soft))
        alphas.append(np.round(alpha * 255).astype(np.uint8))
    return {"image": path.name, "box": box, "clicks": [[list(p), inc] for p, inc in clicks],
            "scores": steps, "seconds": seconds, "alphas": alphas}


def rembg_reference(remover, spec, images: list[Path], folder: Path, soft: bool) -> list[float] | None:
    """rembg plain on the same weights: it has no box or click prompts for ISNet, so its automatic
    cut-out is the only reference."""
    try:
        from rembg import new_session, remove
    except ImportError:
        print("rembg is not installed here: no rembg reference (`pip install rembg` to add it)")
        return None
    import os

    model = remover.store.ensure(spec)
    os.environ.setdefault("U2NET_HOME", str(model.parent))
    session = new_session("dis_custom", model_path=str(model))
    rows = []
    for path in images:
        truth = load_truth(folder, path)
        with Image.open(path) as image:
            mask = np.asarray(remove(image.convert("RGB"), session=session, only_mask=True), np.float32) / 255.0
        rows.append(score(mask, truth, soft))
    return list(np.mean(rows, axis=0))


def load_truth(folder: Path, path: Path) -> np.ndarray:
    with Image.open(folder / "alpha" / f"{path.stem}.png") as image:
        return np.asarray(image.convert("L"), np.float32) / 255.0


def table(names: tuple[str, ...], means: np.ndarray, seconds: np.ndarray, reference: list[float] | None) -> str:
    lines = [f"| step | {' | '.join(names)} | s/image |", "|---|" + "---:|" * (len(names) + 1)]
    for step, label in enumerate(STEPS):
        values = " | ".join(f"{v:.4f}" for v in means[step])
        lines.append(f"| {step} {label} | {values} | {seconds[step]:.2f} |")
    if reference is not None:
        lines.append(f"| rembg plain (automatic) | {' | '.join(f'{v:.4f}' for v in reference)} | |")
    return "\n".join(lines)


def goals(names: tuple[str, ...], means: np.ndarray, soft: bool) -> list[str]:
    lines = []
    for metric, step, goal in (MATTE_GOALS if soft else MASK_GOALS):
        value = means[step][names.index(metric)]
        if soft:
            ratio = value / means[0][names.index(metric)]
            met = ratio <= goal
            lines.append(f"{metric} after {STEPS[step]}: {value:.3f} = {ratio:.3f}x automatic "
                         f"(goal <= {goal}x): {'met' if met else 'MISSED'}")
        else:
            met = value >= goal
            lines.append(f"{metric} after {STEPS[step]}: {value:.4f} (goal >= {goal}): {'met' if met else 'MISSED'}")
    return lines


def save_worst(results: list[dict], names: tuple[str, ...], soft: bool, folder: Path, target: Path, count: int) -> None:
    """Each step's matte of the ``count`` worst images after the last step, beside the truth."""
    target.mkdir(parents=True, exist_ok=True)
    key = names.index("SAD" if soft else "IoU")
    order = sorted(results, key=lambda r: r["scores"][-1][key], reverse=soft)[:count]
    for result in order:
        stem = Path(result["image"]).stem
        truth = load_truth(folder, folder / "image" / result["image"])
        strip = [np.asarray(Image.open(folder / "image" / result["image"]).convert("L"), np.float32) / 255.0, truth]
        strip += [a.astype(np.float32) / 255.0 for a in result["alphas"]]
        Image.fromarray((np.concatenate(strip, axis=1) * 255).astype(np.uint8)).save(target / f"{stem}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a set folder with image/ and alpha/ (trimap/: soft mattes)")
    parser.add_argument("--limit", type=int, help="the first N images")
    parser.add_argument("--json", type=Path, help="write every image's scores, box and clicks here")
    parser.add_argument("--save", type=Path, help="keep the worst images' mattes (gray, truth, steps) here")
    parser.add_argument("--worst", type=int, default=5, help="how many images --save keeps")
    args = parser.parse_args()
    if not ((args.dataset / "image").is_dir() and (args.dataset / "alpha").is_dir()):
        print(f"skipped: {args.dataset} has no image/ and alpha/ (the dev sets live beside the project)")
        return 0

    from alphalift.pipeline import Remover

    folder = args.dataset
    soft = (folder / "trimap").is_dir()
    names = MATTE if soft else MASK
    images = sorted((folder / "image").iterdir())[: args.limit]
    remover = Remover()  # its cache is keyed by pixels: each image's clicks find its own output
    spec = remover.store.catalog.get(None)
    results = []
    for index, path in enumerate(images):
        result = run_image(remover, path, load_truth(folder, path), soft)
        if args.save is None:
            del result["alphas"]
        results.append(result)
        shown = " ".join(f"{s[0]:.3f}" for s in result["scores"])
        print(f"[{index + 1}/{len(images)}] {path.name}: {names[0]} by step {shown}; "
              f"s {' '.join(f'{s:.2f}' for s in result['seconds'])}", flush=True)

    means = np.mean([r["scores"] for r in results], axis=0)
    seconds = np.mean([r["seconds"] for r in results], axis=0)
    reference = rembg_reference(remover, spec, images, folder, soft)
    print(f"\n{folder.name}: {len(images)} images, model {spec.name}\n")
    print(table(names, means, seconds, reference))
    print()
    print("\n".join(goals(names, means, soft)))
    if args.json:
        clean = [{k: v for k, v in r.items() if k != "alphas"} for r in results]
        args.json.write_text(json.dumps({"set": folder.name, "metrics": names, "steps": STEPS,
                                         "images": clean}, indent=1))
    if args.save:
        save_worst(results, names, soft, folder, args.save, args.worst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
