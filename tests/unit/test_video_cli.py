"""`alphalift remove --sequence` and movie inputs, through real processes on the tiny model:
natural frame order, movies in and out (alpha round trip), a damaged frame, resume after a kill."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cv2")
av = pytest.importorskip("av")

from .test_video import shot  # noqa: E402

RATE = 12


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alphalift", *args], capture_output=True, text=True,
                          env=os.environ.copy())


def frames_folder(folder: Path, count: int = 8) -> list[Path]:
    """f_1.png ... f_<count>.png, unpadded, so a plain sort would put f_10 before f_2."""
    folder.mkdir(parents=True)
    images, _ = shot(count)
    paths = [folder / f"f_{index + 1}.png" for index in range(count)]
    for path, image in zip(paths, images):
        Image.fromarray(image).save(path)
    return paths


def make_movie(path: Path, count: int = 8) -> None:
    images, _ = shot(count)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.options = {"qscale": "2"}
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))


def decoded_rgba(path: Path) -> tuple[list[np.ndarray], Fraction]:
    """Every frame of a movie as RGBA, alpha included (libvpx's decoder for VP9: FFmpeg's own
    drops a WebM's alpha), and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate)
        if stream.codec_context.name == "vp9":
            decoder = av.CodecContext.create("libvpx-vp9", "r")
            frames = [f for packet in container.demux(stream)
                      for f in decoder.decode(packet if packet.size else None)]
        else:
            frames = list(container.decode(stream))
        return [f.to_ndarray(format="rgba") for f in frames], rate


def alpha_of(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))[..., 3].astype(np.int16)


def test_frames_folder_in_natural_order_into_a_prores_movie_with_the_pngs_alpha(tiny_home, tmp_path):
    paths = frames_folder(tmp_path / "shot", 11)
    out, movie = tmp_path / "out", tmp_path / "matte.mov"
    result = run_cli("remove", str(tmp_path / "shot"), "--sequence", "--out-dir", str(out),
                     "--model", "tiny", "--video-out", str(movie), "--fps", str(RATE))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    frames, rate = decoded_rgba(movie)
    assert rate == RATE and len(frames) == 11
    for index, frame in enumerate(frames):  # movie frame k is f_<k+1>: natural order
        difference = np.abs(frame[..., 3].astype(np.int16) - alpha_of(out / f"f_{index + 1}.png"))
        assert difference.max() <= 1, f"frame {index + 1}"
    assert alpha_of(out / "f_5.png").max() == 255 and alpha_of(out / "f_5.png").min() == 0


def test_movie_becomes_numbered_pngs_and_a_webm_with_alpha_at_its_frame_rate(tiny_home, tmp_path):
    clip = tmp_path / "clip.mp4"
    make_movie(clip)
    out, movie = tmp_path / "out", tmp_path / "clip-matte.webm"
    result = run_cli("remove", str(clip), "--out-dir", str(out), "--model", "tiny",
                     "--video-out", str(movie))
    assert result.returncode == 0, result.stderr
    pngs = sorted((out / "clip").iterdir())
    assert [p.name for p in pngs] == [f"clip_{i:06d}.png" for i in range(1, 9)]
    frames, rate = decoded_rgba(movie)
    assert rate == RATE and len(frames) == 8
    for frame, png in zip(frames, pngs):
        difference = np.abs(frame[..., 3].astype(np.int16) - alpha_of(png))
        assert difference.mean() < 2 and np.percentile(difference, 99) <= 16, png.name  # lossy VP9
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_a_damaged_frame_is_reported_and_the_rest_of_the_shot_is_written(tiny_home, tmp_path):
    paths = frames_folder(tmp_path / "shot", 6)
    paths[3].write_bytes(paths[3].read_bytes()[:200])  # truncated in the middle of the shot
    out = tmp_path / "out"
    result = run_cli("remove", str(tmp_path / "shot"), "--sequence", "--out-dir", str(out),
                     "--model", "tiny", "--format", "mask")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(paths[3]) in errors[0], result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["f_1.png", "f_2.png", "f_3.png", "f_5.png", "f_6.png"]


KILLED_ON_FOURTH_WRITE = """
import os, signal, sys
import alphalift.fastpng as fastpng
real, writes = fastpng.write_png, []
def write_png(out, pixels, icc_profile=None):
    writes.append(1)
    if len(writes) == 4:  # killed while the fourth frame's bytes are going out
        out.write(b"\\x89PNG\\r\\n half a frame")
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(out, pixels, icc_profile)
fastpng.write_png = write_png
from alphalift.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_run_leaves_whole_frames_and_a_rerun_continues_after_them(tiny_home, tmp_path):
    frames_folder(tmp_path / "shot", 8)
    out = tmp_path / "out"
    args = ["remove", str(tmp_path / "shot"), "--sequence", "--out-dir", str(out), "--model", "tiny"]
    killed = subprocess.run([sys.executable, "-c", KILLED_ON_FOURTH_WRITE, *args], capture_output=True)
    assert killed.returncode == -9
    assert sorted(p.name for p in out.glob("*.png")) == ["f_1.png", "f_2.png", "f_3.png"]
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.png")}
    for path in out.glob("*.png"):
        Image.open(path).load()  # whole
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "kept 3 frames" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"f_{i}.png" for i in range(1, 9)], \
        "every frame, and no half-written file left behind"
    for name, (mtime, data) in before.items():
        assert (out / name).stat().st_mtime_ns == mtime and (out / name).read_bytes() == data
    for path in out.glob("*.png"):
        Image.open(path).load()


@pytest.mark.parametrize("extra, says", [
    (["--video-out", "x.mp4"], "writes .mov (ProRes 4444) or .webm (VP9)"),
    (["-o", "x.png"], "-o names one image"),
])
def test_video_options_are_checked_before_any_frame(tiny_home, tmp_path, extra, says):
    frames_folder(tmp_path / "shot", 2)
    result = run_cli("remove", str(tmp_path / "shot"), "--sequence", "--model", "tiny",
                     *[str(tmp_path / e) if e.startswith("x.") else e for e in extra])
    assert result.returncode == 1 and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "shot").glob("*-cutout.png")), "nothing written"


def test_a_folder_with_video_out_needs_sequence(tiny_home, tmp_path):
    frames_folder(tmp_path / "shot", 2)
    result = run_cli("remove", str(tmp_path / "shot"), "--model", "tiny",
                     "--video-out", str(tmp_path / "m.mov"))
    assert result.returncode == 1 and "--sequence" in result.stderr


WITHOUT_VIDEO_EXTRA = """
import sys
sys.modules["av"] = sys.modules["cv2"] = None  # as if the video extra were not installed
from alphalift.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_the_video_extra_a_video_run_says_how_to_get_it(tiny_home, tmp_path):
    clip = tmp_path / "clip.mp4"
    make_movie(clip, 2)
    frames_folder(tmp_path / "shot", 2)
    for args in ([str(clip)], [str(tmp_path / "shot"), "--sequence"]):
        result = subprocess.run([sys.executable, "-c", WITHOUT_VIDEO_EXTRA, "remove", *args,
                                 "--out-dir", str(tmp_path / "out"), "--model", "tiny"],
                                capture_output=True, text=True)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and 'pip install "alphalift[video]"' in result.stderr
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.png"))
