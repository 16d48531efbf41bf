"""Item 6: every request is validated before work starts; every error is a reply and the worker
lives on. Each case goes through a real worker process as raw JSON lines."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from ..conftest import red_disc

HANG_GUARD = 60.0  # seconds: only there so a broken worker fails the test instead of hanging it


class RawWorker:
    """`alphalift serve --stdio` driven with raw lines, its replies read on a thread."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "alphalift", "serve", "--stdio"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.messages.put(json.loads(line))
        self.messages.put(None)

    def send(self, request: dict[str, Any] | bytes) -> None:
        data = request if isinstance(request, bytes) else json.dumps(request).encode() + b"\n"
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def final(self, request_id: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The final reply to ``request_id`` and the events sent for it before."""
        events = []
        while True:
            message = self.messages.get(timeout=HANG_GUARD)
            assert message is not None, "the worker died"
            if message.get("id") != request_id:
                continue
            if "event" in message:
                events.append(message)
                continue
            return message, events

    def call(self, request: dict[str, Any] | bytes, reply_id: Any = "same") -> dict[str, Any]:
        """Send, then wait for the final reply (to ``reply_id``: by default the request's id)."""
        self.send(request)
        if reply_id == "same":
            reply_id = None if isinstance(request, bytes) else request.get("id")
        return self.final(reply_id)[0]

    def answers_hello(self) -> bool:
        reply = self.call({"op": "hello", "id": "still-there"})
        return bool(reply.get("ok")) and self.process.poll() is None

    def close(self) -> int:
        try:
            self.send({"op": "shutdown"})
            self.process.stdin.close()
        except OSError:
            pass
        return self.process.wait(timeout=HANG_GUARD)


@pytest.fixture
def private_folder() -> Iterator[Path]:
    """A folder like the client's: tempfile.mkdtemp(prefix="alphalift-") (mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="alphalift-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def raw_image(folder: Path, size: tuple[int, int] = (40, 30)) -> dict[str, Any]:
    width, height = size
    path = folder / "input.raw"
    red_disc(size, radius=10).tofile(path)
    return {"path": str(path), "width": width, "height": height, "format": "RGB8"}


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory) -> dict[str, str]:
    """A private ALPHALIFT_HOME with the tiny model, for workers started in this module."""
    from ..conftest import build_tiny_model

    home = tmp_path_factory.mktemp("home")
    model = build_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")
    env = dict(os.environ, ALPHALIFT_HOME=str(home), ALPHALIFT_BACKEND="onnxruntime")
    env.pop("ALPHALIFT_TEST_PAUSE_AT", None)
    subprocess.run([sys.executable, "-m", "alphalift", "models", "import", str(model), "--as", "tiny",
                    "--family", "isnet"], env=env, check=True, capture_output=True)
    return env


@pytest.fixture(scope="module")
def worker(worker_env):
    worker = RawWorker(worker_env)
    yield worker
    assert worker.close() == 0


@pytest.fixture(scope="module")
def disc_png(tmp_path_factory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("png") / "disc.png"
    Image.fromarray(red_disc((40, 30), radius=10)).save(path)
    return path


def remove(request_id: Any = 1, **fields: Any) -> dict[str, Any]:
    return {"op": "remove", "id": request_id, **fields}


@pytest.mark.parametrize("request_, fragment", [
    ({"op": "hello", "id": [1]}, "id"),
    ({"op": "hello", "id": {"a": 1}}, "id"),
    ({"op": "hello", "id": 1.5}, "id"),
    ({"op": "hello", "id": True}, "id"),
    ({"op": "cancel", "id": [1]}, "id"),
    ({"op": "hello", "id": 2, "protocol": "1"}, "protocol"),
    (remove(), "image"),
    (remove(image="photo.png"), "image"),
    (remove(image={"path": "x.raw", "width": "40", "height": 30, "format": "RGB8"}), "width"),
    (remove(image={"path": "x.raw", "width": 40, "height": 30, "format": "RGB7"}), "format"),
    (remove(image={"path": 5, "width": 40, "height": 30, "format": "RGB8"}), "path"),
    (remove(image={"path": "x.raw", "width": 40, "height": 30, "format": "RGB8", "linear": "no"}),
     "linear"),
    (remove(image={"file": "photo.png", "path": "x.raw"}), "image"),
    (remove(image={"file": "photo.png"}, options="refine"), "options"),
    (remove(image={"file": "photo.png"}, options={"refine": "no", "save": {"mask": "m.png"}}), "refine"),
    (remove(image={"file": "photo.png"}, options={"model": 3, "save": {"mask": "m.png"}}), "model"),
    (remove(image={"file": "photo.png"}, options={"save": ["m.png"]}), "save"),
    (remove(image={"file": "photo.png"}, options={"save": {"alpha": "m.png"}}), "save"),
    (remove(image={"file": "photo.png"}, options={"save": {"mask": 7}}), "save"),
    (remove(image={"file": "photo.png"}, options={"save": {"mask": "m.png"}, "overwrite": 1}), "overwrite"),
    (remove(image={"file": "photo.png"}, options={"save": {"mask": "m.png"}, "alpha_format": "L9"}),
     "alpha_format"),
    (remove(image={"file": "photo.png"}, options={"save": {"mask": "m.png"},
                                                  "foreground_format": "CMYK8"}), "foreground_format"),
    ({"op": "download", "id": 3, "model": ["tiny"]}, "model"),
])
def test_a_malformed_request_gets_a_reply_and_the_worker_lives_on(worker, request_, fragment):
    request_id = request_.get("id")
    valid_id = isinstance(request_id, (int, str)) and not isinstance(request_id, bool)
    reply = worker.call(request_, request_id if valid_id else None)  # a bad id is answered as null
    assert reply["ok"] is False and reply["error"]["code"] == "bad-request"
    assert fragment in reply["error"]["message"]
    assert worker.answers_hello()


def test_bytes_that_are_not_utf8_are_a_bad_json_reply(worker):
    reply = worker.call(b'{"op": "hello", "id": "\xff\xfe"}\n')
    assert reply["error"]["code"] == "bad-json"
    assert worker.answers_hello()


def test_a_file_image_without_save_fails_before_any_work(worker, disc_png):
    worker.send(remove(11, image={"file": str(disc_png)}, options={"model": "tiny"}))
    reply, events = worker.final(11)
    assert reply["error"]["code"] == "bad-request" and "save" in reply["error"]["message"]
    assert events == [], "no stage may start for a request that cannot be answered"
    assert worker.answers_hello()


def test_options_as_a_string_fail_before_any_work(worker, disc_png):
    worker.send(remove(12, image={"file": str(disc_png)}, options="model=tiny"))
    reply, events = worker.final(12)
    assert reply["error"]["code"] == "bad-request" and events == []
    assert worker.answers_hello()


def test_a_duplicate_id_is_refused_while_the_first_runs(worker_env, private_folder):
    """The first request stays running (paused at its segment stage by the test hook) while the
    second arrives under the same id; cancelling the first then ends it."""
    worker = RawWorker(dict(worker_env, ALPHALIFT_TEST_PAUSE_AT="segment"))
    try:
        request = remove(21, image=raw_image(private_folder), options={"model": "tiny"})
        worker.send(request)
        worker.send(request)
        duplicate, _ = worker.final(21)
        assert duplicate["error"]["code"] == "duplicate-id"
        assert worker.answers_hello()
        worker.send({"op": "cancel", "id": 21})
        first, _ = worker.final(21)
        assert first["error"]["code"] == "cancelled"
        worker.send(request)  # the id is free again once its request has ended
        worker.send({"op": "cancel", "id": 21})
        assert worker.final(21)[0]["error"]["code"] == "cancelled"
    finally:
        worker.process.kill()
        worker.process.wait()


def test_a_good_request_still_works_after_the_bad_ones(worker, private_folder):
    reply = worker.call(remove("last", image=raw_image(private_folder), options={"model": "tiny", "refine": False}))
    assert reply["ok"] and reply["width"] == 40
    alpha = np.fromfile(reply["alpha"]["path"], np.uint8).reshape(30, 40)
    assert alpha[15, 20] > 200 and alpha[0, 0] < 50
