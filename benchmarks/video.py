#!/usr/bin/env python3
"""Per-frame vs sequence mode on composited video with exact alpha: accuracy, steadiness, time.

    python ../shared/datasets/make_sequences.py ../shared/datasets/alphamatting-dev \\
        ../shared/datasets/ecssd-dev/image /tmp/seq20 --frames 20
    python benchmarks/video.py /tmp/seq20                      # the sequences as made
    python benchmarks/video.py /tmp/seq20 --cuts               # pairs joined by a hard cut
    python benchmarks/video.py /tmp/seq20 --stride 3           # fast motion: every 3rd frame
    python benchmarks/video.py --memory 500                    # peak RSS over a 500-frame shot

Prints, per clip and in total, for each mode: mean per-frame SAD (/1000) and MSE (x1000), dtSSD
(Erofeev et al. 2015, as make_sequences.py defines it) and seconds per frame; with --cuts also SAD
and MSE over the three frames right after each cut. dtSSD is split along the motion (the
benchmark's own DIS flow W, e = alpha - truth) into *flicker*, |e_t - W e_t-1|, what a temporal
method can remove, and *carried*, |W e_t-1 - e_t-1|, the frame's own error moving with the
subject, which only a more accurate matte removes (a matte that never flickers still scores it). The model's pass is the same computation in
both modes, so it runs once per frame (timed, and counted in both modes' seconds per frame); the
two modes then run frame by frame interleaved, so a busy machine slows both alike. ``--cache DIR``
keeps the model passes on disk between runs (the timing of a cached pass is the one recorded).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

MODES = ("per-frame", "sequence")


class CachedModel:
    """The backend's pass once per distinct input; ``seconds`` holds each pass's time."""

    def __init__(self, inner, folder: Path | None) -> None:
        self.inner, self.folder = inner, folder
        self.memory: dict[str, np.ndarray] = {}
        self.seconds: dict[str, float] = {}
        self.last_seconds = float("nan")
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def run(self, tensor: np.ndarray) -> np.ndarray:
        key = hashlib.sha1(np.ascontiguousarray(tensor).tobytes()).hexdigest()
        if key in self.memory:
            return self.memory[key]
        stored = self.folder / f"{key}.npy" if self.folder is not None else None
        if stored is not None and stored.exists():
            output = np.load(stored)
            times = self.folder / f"{key}.json"
            self.seconds[key] = json.loads(times.read_text())["seconds"] if times.exists() else float("nan")
        else:
            start = time.perf_counter()
            output = np.asarray(self.inner.run(tensor), np.float32)
            self.seconds[key] = time.perf_counter() - start
            if stored is not None:
                np.save(stored, output)
                (self.folder / f"{key}.json").write_text(json.dumps({"seconds": self.seconds[key]}))
        self.last_seconds = self.seconds[key]
        self.memory = {key: output}  # one frame's pass: both modes ask for it in turn
        return output

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@dataclass
class Clip:
    name: str
    frames: list[Path]
    truths: list[Path]
    cuts: list[int] = field(default_factory=list)  # indices of first frames after a cut


@dataclass
class Scores:
    sad: list[float] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    dtssd: list[float] = field(default_factory=list)
    # dtSSD split by the motion (DIS flow W): e = alpha - truth; e_t - e_t-1 = (e_t - W e_t-1), the
    # flicker a temporal method can remove, + (W e_t-1 - e_t-1), the frame's error carried along
    # with the subject, which only a more accurate matte removes
    flicker: list[float] = field(default_factory=list)
    carried: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    after_model: list[float] = field(default_factory=list)  # the same, less the model's pass
    after_cut_sad: list[float] = field(default_factory=list)
    after_cut_mse: list[float] = field(default_factory=list)
    cuts_found: int = 0


def clips_in(root: Path, stride: int, count: int | None, limit: int | None, cuts: bool) -> list[Clip]:
    folders = sorted(p for p in root.iterdir() if (p / "frames").is_dir() and (p / "alpha").is_dir())
    folders = folders[:limit] if limit else folders
    clips = []
    for folder in folders:
        frames = sorted((folder / "frames").glob("*.png"))[::stride][:count]
        clips.append(Clip(folder.name, frames, [folder / "alpha" / p.name for p in frames]))
    if not cuts:
        return clips
    joined = []
    for first, second in zip(clips, clips[1:] + clips[:1]):
        half = len(first.frames) // 2
        joined.append(Clip(f"{first.name}|{second.name}", first.frames[:half] + second.frames[half:],
                           first.truths[:half] + second.truths[half:], [half]))
    return joined


def truth_of(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), np.float32) / 255.0


def run_clip(clip: Clip, remover, model: CachedModel, spec, refine: bool) -> dict[str, Scores]:
    from alphalift.imageio import load_image
    from alphalift.segment import segment
    from alphalift.video import SequenceRemover
    from alphalift.video.motion import MotionEstimator

    runners = {mode: SequenceRemover(remover, refine=refine, foreground=True,
                                     temporal=mode == "sequence") for mode in MODES}
    scores = {mode: Scores() for mode in MODES}
    previous: dict[str, np.ndarray] = {}
    previous_truth = None
    flow = MotionEstimator()  # the benchmark's own, for the dtSSD split
    for index, (frame, truth_path) in enumerate(zip(clip.frames, clip.truths)):
        image = load_image(frame)
        truth = truth_of(truth_path)
        segment(image.rgb, spec, model)  # the shared model pass, timed once
        motion = flow.step(image.rgb)
        model_seconds = model.last_seconds
        for mode in MODES:
            start = time.perf_counter()
            alpha = runners[mode].cut(image).mask
            scores[mode].after_model.append(time.perf_counter() - start)
            scores[mode].seconds.append(model_seconds + scores[mode].after_model[-1])
            scores[mode].sad.append(metrics.sad(alpha, truth))
            scores[mode].mse.append(metrics.mse(alpha, truth) * 1000)
            if previous_truth is not None:
                change = (alpha - previous[mode]) - (truth - previous_truth)
                scores[mode].dtssd.append(float(np.sqrt((change ** 2).sum())))
                if motion is not None:
                    error, carried = alpha - truth, motion.warp(previous[mode] - previous_truth)
                    scores[mode].flicker.append(float(np.sqrt(((error - carried) ** 2).sum())))
                    scores[mode].carried.append(float(np.sqrt(((carried - previous[mode] + previous_truth) ** 2).sum())))
            if any(0 <= index - cut < 3 for cut in clip.cuts):
                scores[mode].after_cut_sad.append(scores[mode].sad[-1])
                scores[mode].after_cut_mse.append(scores[mode].mse[-1])
            previous[mode] = alpha
        previous_truth = truth
    scores["sequence"].cuts_found = runners["sequence"].cuts
    return scores


def mean(values: list[float]) -> float:
    return float(np.nanmean(values)) if values else float("nan")


def report(name: str, scores: dict[str, Scores], cuts: bool) -> None:
    columns = "SAD  MSEx1e3  dtSSD  flicker  carried  s/frame  s/frame-after-model" + ("  SAD@cut  MSE@cut" if cuts else "")
    print(f"{name}\n  {'mode':<10} {columns}")
    for mode in MODES:
        s = scores[mode]
        line = f"  {mode:<10} {mean(s.sad):5.2f} {mean(s.mse):8.3f} {mean(s.dtssd):6.2f} {mean(s.flicker):8.2f} {mean(s.carried):8.2f} {mean(s.seconds):8.2f} {mean(s.after_model):20.2f}"
        if cuts:
            line += f" {mean(s.after_cut_sad):8.2f} {mean(s.after_cut_mse):8.3f}"
        print(line)


def merge(total: dict[str, Scores], part: dict[str, Scores]) -> None:
    for mode in MODES:
        for name, values in vars(part[mode]).items():
            if isinstance(values, list):
                getattr(total[mode], name).extend(values)


def quality(args: argparse.Namespace) -> int:
    from alphalift.pipeline import Remover

    remover = Remover(download=False)
    spec = remover.store.catalog.get(args.model)
    model = CachedModel(remover.backend_for(spec), args.cache)
    remover._backends[spec.name] = model  # both modes' Remover.remove() get the shared pass
    clips = clips_in(args.sequences, args.stride, args.frames, args.limit, args.cuts)
    print(f"$ {' '.join(sys.argv)}")
    print(f"model {spec.name}, refine {not args.no_refine}, {len(clips)} clips, "
          f"{sum(len(c.frames) for c in clips)} frames each mode")
    total = {mode: Scores() for mode in MODES}
    for clip in clips:
        part = run_clip(clip, remover, model, spec, not args.no_refine)
        report(clip.name, part, args.cuts)
        print(f"  cuts: {len(clip.cuts)} made, {part['sequence'].cuts_found} found by the sequence mode")
        merge(total, part)
    report("ALL", total, args.cuts)
    per, seq = total["per-frame"], total["sequence"]
    print(f"sequence / per-frame: SAD {mean(seq.sad) / mean(per.sad):.3f}x, MSE "
          f"{mean(seq.mse) / mean(per.mse):.3f}x, dtSSD {mean(seq.dtssd) / mean(per.dtssd):.3f}x "
          f"(flicker {mean(seq.flicker) / mean(per.flicker):.3f}x, carried "
          f"{mean(seq.carried) / mean(per.carried):.3f}x), "
          f"time {mean(seq.seconds) / mean(per.seconds):.3f}x, after the model "
          f"{mean(seq.after_model) / mean(per.after_model):.3f}x (model pass "
          f"{float(np.nanmedian(list(model.seconds.values()))):.2f} s median)")
    print(f"per-frame's carried / dtSSD: {mean(per.carried) / mean(per.dtssd):.3f} (about the dtSSD "
          f"ratio a matte with per-frame's errors would reach if it never flickered)")
    return 0


class SyntheticModel:
    """A stand-in for the network in the memory check: what matters there is what the sequence
    mode keeps from frame to frame, not the model's own (constant) working memory."""

    def run(self, tensor: np.ndarray) -> np.ndarray:
        red = tensor[:, :1] - 0.5 * (tensor[:, 1:2] + tensor[:, 2:3])
        return 1.0 / (1.0 + np.exp(-4.0 * red))


def synthetic_frame(index: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    width, height = size
    y, x = np.mgrid[:height, :width].astype(np.float32)
    cx = width / 2 + width / 4 * np.sin(index / 15.0)
    disc = np.clip((height / 4 - np.hypot(x - cx, y - height / 2)) / 2.0, 0, 1)[..., None]
    backdrop = np.stack([40 + 20 * np.sin((x + index) / 9), 90 + 0 * x, 160 + 30 * np.cos(y / 7)], -1)
    frame = disc * np.asarray([220, 40, 40], np.float32) + (1 - disc) * backdrop
    return np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def memory(args: argparse.Namespace) -> int:
    from alphalift.pipeline import Remover
    from alphalift.video import SequenceRemover

    remover = Remover(download=False)
    spec = remover.store.catalog.get(args.model)
    remover._backends[spec.name] = SyntheticModel()
    runner = SequenceRemover(remover, model=args.model, refine=not args.no_refine)
    rng = np.random.default_rng(0)
    print(f"$ {' '.join(sys.argv)}")
    print(f"{args.memory} frames of {args.size[0]}x{args.size[1]}, sequence mode, refine "
          f"{not args.no_refine} (the network replaced by a fixed function)\n  frames  peak RSS MB")
    for index in range(args.memory):
        runner.cut(synthetic_frame(index, args.size, rng))
        if (index + 1) % max(1, args.memory // 10) == 0:
            print(f"  {index + 1:6d}  {peak_rss_mb():10.1f}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sequences", type=Path, nargs="?", help="make_sequences.py's output folder")
    parser.add_argument("--frames", type=int, help="first N frames (after --stride) of each")
    parser.add_argument("--stride", type=int, default=1, help="every Kth frame: K times faster motion")
    parser.add_argument("--limit", type=int, help="first N sequences")
    parser.add_argument("--cuts", action="store_true", help="join pairs of sequences by a hard cut")
    parser.add_argument("--model", help="model name (default: the default model)")
    parser.add_argument("--no-refine", action="store_true")
    parser.add_argument("--cache", type=Path, help="keep the model passes here between runs")
    parser.add_argument("--memory", type=int, metavar="FRAMES", help="peak RSS over a synthetic shot")
    parser.add_argument("--size", type=lambda t: tuple(map(int, t.split("x"))), default=(640, 360))
    args = parser.parse_args()
    if args.memory:
        return memory(args)
    if args.sequences is None or not args.sequences.is_dir():
        print(f"skipped: {args.sequences} is not there (make it with make_sequences.py, see --help)")
        return 0
    return quality(args)


if __name__ == "__main__":
    sys.exit(main())
