"""The worker's sequence sessions (what Blender's Temporal smoothing uses), through a real worker
process on the tiny model: a shot sent frame by frame equals the CLI's `--sequence` mattes; a longer
range continues the shot the worker holds; a partial recompute warms up from the frame before; a gap,
a new start, another model or a failed frame starts a new shot; sessions are bounded."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from .test_worker_requests import RawWorker, remove, worker_env  # noqa: F401 (a fixture)

pytest.importorskip("cv2")

from .test_video import shot  # noqa: E402

FRAMES = 6


@pytest.fixture(scope="module")
def worker(worker_env, footage):  # noqa: F811 - after footage: it imports a second model
    worker = RawWorker(worker_env)
    yield worker
    assert worker.close() == 0


def cli_masks(inputs: list[Path], out: Path, env: dict[str, str], *options: str) -> list[np.ndarray]:
    """`alphalift remove INPUTS [--sequence] --format mask`: the reference mattes f_1.png, ..."""
    done = subprocess.run([sys.executable, "-m", "alphalift", "remove", *map(str, inputs), *options,
                           "--out-dir", str(out), "--format", "mask", "--model", "tiny"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return [mask(out / f"f_{n}.png") for n in range(1, len(list(out.iterdir())) + 1)]


def mask(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), np.int16)


@pytest.fixture(scope="module")
def footage(tmp_path_factory, worker_env):  # noqa: F811
    """f_1.png ... f_6.png of a noisy moving shot, and what the CLI makes of them: the sequence
    mode's mattes, the per-frame mattes, and the sequence mode's on frames 3 to 6 alone."""
    root = tmp_path_factory.mktemp("footage")
    (root / "shot").mkdir()
    (root / "from3").mkdir()
    images, _ = shot(FRAMES)
    for number, image in enumerate(images, 1):
        Image.fromarray(image).save(root / "shot" / f"f_{number}.png")
        if number >= 3:
            Image.fromarray(image).save(root / "from3" / f"f_{number - 2}.png")
    sequence = cli_masks([root / "shot"], root / "sequence", worker_env, "--sequence")
    per_frame = cli_masks(sorted((root / "shot").iterdir()), root / "per-frame", worker_env)
    from3 = cli_masks([root / "from3"], root / "from3-out", worker_env, "--sequence")
    from ..conftest import build_tiny_model

    other = build_tiny_model(root / "other.onnx")  # the same graph under another name
    subprocess.run([sys.executable, "-m", "alphalift", "models", "import", str(other), "--as", "tiny-b",
                    "--family", "isnet"], env=worker_env, check=True, capture_output=True)
    return root, sequence, per_frame, from3


def frame_request(request_id: Any, root: Path, number: int, session: str, out: Path | None,
                  start: bool = False, **options: Any) -> dict[str, Any]:
    """Frame ``number`` of the shot into ``out``/f_<number>.png; no ``out``: a warm-up frame."""
    sequence = {"id": session, "frame": number, **({"start": True} if start else {})}
    save = {"mask": str(out / f"f_{number}.png")} if out is not None else {}
    return remove(request_id, image={"file": str(root / "shot" / f"f_{number}.png")},
                  options={"model": "tiny", "save": save, "overwrite": True, "sequence": sequence,
                           **options})


def run_frames(worker: RawWorker, root: Path, numbers, session: str, out: Path | None,
               start_first: bool = True, **options: Any) -> list[dict[str, Any]]:
    if out is not None:
        out.mkdir(exist_ok=True)
    replies = []
    for index, number in enumerate(numbers):
        request_id = f"{session}-{number}-{len(replies)}-{out is None}"
        reply = worker.call(frame_request(request_id, root, number, session, out,
                                          start=start_first and index == 0, **options))
        assert reply["ok"], reply
        replies.append(reply)
    return replies


def test_a_shot_sent_frame_by_frame_equals_the_cli_sequence_mode(worker, footage):
    root, sequence, per_frame, _ = footage
    out = root / "worker-full"
    replies = run_frames(worker, root, range(1, FRAMES + 1), "full", out)
    assert [r["sequence"]["continued"] for r in replies] == [False] + [True] * (FRAMES - 1)
    for number in range(1, FRAMES + 1):
        assert np.abs(mask(out / f"f_{number}.png") - sequence[number - 1]).max() <= 1, number
    # The footage is one where the sequence mode matters: the per-frame mattes are not these.
    assert max(np.abs(s - p).max() for s, p in zip(sequence[1:], per_frame[1:])) > 8


def test_a_longer_range_continues_the_shot_the_worker_holds(worker, footage):
    """Frames 1-3, then the range grows to 6: the warm-up of frame 3 finds the session on it, so
    nothing is cut again, and frames 4-6 are what a full run gives."""
    root, sequence, _, _ = footage
    out = root / "worker-longer"
    run_frames(worker, root, [1, 2, 3], "longer", out)
    (warm,) = run_frames(worker, root, [3], "longer", None, start_first=False)
    assert warm["saved"] == {} and warm["sequence"] == {"frame": 3, "continued": True, "cut": False}
    replies = run_frames(worker, root, [4, 5, 6], "longer", out, start_first=False)
    assert all(r["sequence"]["continued"] for r in replies)
    for number in range(1, FRAMES + 1):
        assert np.abs(mask(out / f"f_{number}.png") - sequence[number - 1]).max() <= 1, number


def test_a_partial_recompute_warms_up_from_the_frame_before(worker, footage):
    """After a full run the session is on frame 6; recomputing frame 4 alone cuts frame 3 unsaved
    first, so frame 4 is what the sequence mode gives for a shot that starts at frame 3."""
    root, sequence, _, from3 = footage
    out = root / "worker-partial"
    run_frames(worker, root, range(1, FRAMES + 1), "partial", out)
    written = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    (warm,) = run_frames(worker, root, [3], "partial", None, start_first=False)
    assert warm["sequence"] == {"frame": 3, "continued": False, "cut": True}
    after = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    assert after == written, "a warm-up writes nothing"
    (fourth,) = run_frames(worker, root, [4], "partial", out, start_first=False)
    assert fourth["sequence"]["continued"]
    assert np.abs(mask(out / "f_4.png") - from3[1]).max() <= 1


def test_a_gap_a_new_start_or_another_option_starts_a_new_shot(worker, footage):
    """Each of these frames is cut as the first of a shot: its matte is the per-frame one."""
    root, _, per_frame, _ = footage
    out = root / "worker-restarts"
    run_frames(worker, root, [1], "restarts", out)
    (gap,) = run_frames(worker, root, [3], "restarts", out, start_first=False)
    (started,) = run_frames(worker, root, [4], "restarts", out, start_first=True)
    (unrefined,) = run_frames(worker, root, [5], "restarts", out, start_first=False, refine=False)
    (other_model,) = run_frames(worker, root, [6], "restarts", out, start_first=False, model="tiny-b")
    for reply in (gap, started, unrefined, other_model):
        assert not reply["sequence"]["continued"], reply
    assert np.abs(mask(out / "f_3.png") - per_frame[2]).max() <= 1
    assert np.abs(mask(out / "f_4.png") - per_frame[3]).max() <= 1
    assert np.abs(mask(out / "f_6.png") - per_frame[5]).max() <= 1


def test_a_frame_cancelled_half_way_leaves_no_history_to_continue(tiny_home, tmp_path, footage):
    """In-process, so the cancel lands at a known point: the frame after a cancelled one (even the
    same frame again) starts a new shot, as the method's memory may hold half of the cancelled one."""
    import io
    import threading

    from alphalift.errors import CancelledError
    from alphalift.worker.requests import parse_request
    from alphalift.worker.server import Worker

    root = footage[0]
    worker = Worker(io.StringIO())

    def cut(number: int, cancelled: bool = False) -> dict[str, Any]:
        request = parse_request(frame_request(number, root, number, "cancelled", tmp_path, start=number == 1))
        worker.cancels[request.id] = threading.Event()
        if cancelled:
            worker.cancels[request.id].set()
        return worker.remove(request)

    assert cut(1)["sequence"]["continued"] is False
    assert cut(2)["sequence"]["continued"] is True
    with pytest.raises(CancelledError):
        cut(3, cancelled=True)
    assert cut(3)["sequence"]["continued"] is False


def test_sessions_are_bounded_the_least_recently_used_goes(worker_env, footage):  # noqa: F811
    from alphalift.worker.protocol import SEQUENCE_SESSIONS

    root = footage[0]
    worker = RawWorker(worker_env)
    try:
        names = [f"node-{n}" for n in range(SEQUENCE_SESSIONS + 1)]
        for name in names:
            run_frames(worker, root, [1], name, None)
        (first,) = run_frames(worker, root, [2], names[0], None, start_first=False)
        (second,) = run_frames(worker, root, [2], names[2], None, start_first=False)
        assert not first["sequence"]["continued"], "the oldest session was dropped"
        assert second["sequence"]["continued"]
    finally:
        assert worker.close() == 0


@pytest.mark.parametrize("sequence, fragment", [
    ("node-1", "options.sequence"),
    ({"frame": 1}, "options.sequence.id"),
    ({"id": "", "frame": 1}, "options.sequence.id"),
    ({"id": 5, "frame": 1}, "options.sequence.id"),
    ({"id": "x" * 201, "frame": 1}, "options.sequence.id"),
    ({"id": "node-1"}, "options.sequence.frame"),
    ({"id": "node-1", "frame": "1"}, "options.sequence.frame"),
    ({"id": "node-1", "frame": True}, "options.sequence.frame"),
    ({"id": "node-1", "frame": -1}, "options.sequence.frame"),
    ({"id": "node-1", "frame": 1, "start": "yes"}, "options.sequence.start"),
])
def test_malformed_sequence_fields_are_refused_before_any_work(worker, footage, sequence, fragment):
    root = footage[0]
    request = remove("bad-sequence", image={"file": str(root / "shot" / "f_1.png")},
                     options={"model": "tiny", "save": {"mask": str(root / "never.png")},
                              "sequence": sequence})
    worker.send(request)
    reply, events = worker.final("bad-sequence")
    assert reply["ok"] is False and reply["error"]["code"] == "bad-request"
    assert fragment in reply["error"]["message"] and events == []
    assert not (root / "never.png").exists()
    assert worker.answers_hello()


def test_only_a_sequence_frame_may_save_nothing(worker, footage):
    root = footage[0]
    reply = worker.call(remove("no-save", image={"file": str(root / "shot" / "f_1.png")},
                               options={"model": "tiny"}))
    assert reply["error"]["code"] == "bad-request" and "save" in reply["error"]["message"]


def test_the_client_passes_a_sequence_frame_on(worker_env, footage, monkeypatch):  # noqa: F811
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "client"))
    from alphalift_client import AlphaLiftClient

    root, sequence, _, _ = footage
    for key in ("ALPHALIFT_HOME", "ALPHALIFT_BACKEND"):
        monkeypatch.setenv(key, worker_env[key])
    out = root / "client"
    out.mkdir()
    with AlphaLiftClient(python=sys.executable) as client:
        for number in (1, 2):
            client.remove_file(str(root / "shot" / f"f_{number}.png"), {"mask": str(out / f"f_{number}.png")},
                               model="tiny", sequence={"id": "client", "frame": number, "start": number == 1})
    assert np.abs(mask(out / "f_2.png") - sequence[1]).max() <= 1
