"""Item 1b: the client notices a dead or silent worker by its process, not only by end-of-file.

OpenVINO forks a telemetry child that inherits the worker's stdout; when the worker dies that
child keeps the pipe open, so a client waiting for end-of-file froze its host. Each worker here is
started through a shell that first leaves such a child behind (`sleep`, holding stdout), so every
kill below would hang a client that only waits for end-of-file.
"""
from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from ..conftest import red_disc
from .test_worker_requests import RawWorker, private_folder, raw_image  # noqa: F401 (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "client"))
from alphalift_client import AlphaLiftClient, AlphaLiftClientError, data_dir  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell, signals and /proc")

HANG_GUARD = 30.0  # seconds: far above the few the client needs; only there to end a hung test


def holding_python(tmp_path: Path, then: str = 'exec "{python}" "$@"') -> tuple[str, Path]:
    """A 'core Python' that leaves a grandchild holding stdout, then runs the worker (or ``then``).
    Returns the script and the file that will hold the grandchild's pid."""
    pid_file = tmp_path / "grandchild.pid"
    script = tmp_path / "python-with-grandchild"
    script.write_text(f'#!/bin/sh\nsleep 300 &\necho $! > "{pid_file}"\n'
                      + then.format(python=sys.executable) + "\n")
    script.chmod(0o755)
    return str(script), pid_file


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


class Call:
    """Runs a client call on a thread, so a hang fails the test instead of freezing it."""

    def __init__(self, function: Callable[[], Any]) -> None:
        self.outcome: Any = None
        self.thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self.thread.start()

    def _run(self, function: Callable[[], Any]) -> None:
        try:
            self.outcome = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.outcome = exc

    def error(self) -> AlphaLiftClientError:
        self.thread.join(HANG_GUARD)
        assert not self.thread.is_alive(), "the client hung on a dead or silent worker"
        assert isinstance(self.outcome, AlphaLiftClientError), self.outcome
        return self.outcome


def logged(client: AlphaLiftClient, text: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return text in client.log_path.read_text(errors="replace")
        except OSError:
            return False
    return check


@pytest.fixture
def grandchild_cleanup():
    """Kills any grandchild a failed test left behind (so a hung client thread ends)."""
    pid_files: list[Path] = []
    yield pid_files
    for pid_file in pid_files:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def photo_bytes() -> bytes:
    return np.dstack([red_disc((64, 48), radius=15), np.full((48, 64), 255, np.uint8)]).tobytes()


ENGINES = ["onnxruntime", pytest.param("openvino", marks=pytest.mark.skipif(
    not __import__("importlib").util.find_spec("openvino"), reason="openvino is not installed"))]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("stage", ["hello", "load-model", "segment", "refine"])
def test_a_worker_killed_at_any_stage_is_reported(tiny_home, tmp_path, monkeypatch, grandchild_cleanup,
                                                   stage, engine):
    """'segment' is the moment right after the model has loaded (and compiled, under OpenVINO)."""
    if stage in ("hello", "load-model") and engine == "openvino":
        pytest.skip("no engine is imported before this stage's pause: the same as onnxruntime's case")
    monkeypatch.setenv("ALPHALIFT_BACKEND", engine)
    monkeypatch.setenv("ALPHALIFT_TEST_PAUSE_AT", stage)
    python, pid_file = holding_python(tmp_path)
    grandchild_cleanup.append(pid_file)
    client = AlphaLiftClient(python=python)
    if stage == "hello":
        call = Call(client.start)
    else:
        client.start()
        call = Call(lambda: client.remove(photo_bytes(), 64, 48, model="tiny"))
    wait_for(logged(client, f"paused at {stage}"), f"the worker to reach {stage}")
    grandchild = int(pid_file.read_text())
    os.kill(client.process.pid, signal.SIGKILL)
    error = call.error()
    assert error.code == "worker-died" and str(client.log_path) in str(error)
    assert client.log_path.parent == tiny_home, "the log is the user's (ALPHALIFT_HOME here)"
    wait_for(lambda: not alive(grandchild), "the worker's own children to be stopped too")
    if stage == "segment":
        monkeypatch.delenv("ALPHALIFT_TEST_PAUSE_AT")
        result = client.remove(photo_bytes(), 64, 48, model="tiny", refine=False)  # a fresh worker
        assert len(result.alpha) == 64 * 48
        client.close()


def test_a_worker_that_never_answers_hello_is_stopped(tiny_home, tmp_path, grandchild_cleanup):
    python, pid_file = holding_python(tmp_path, then="exec sleep 300")
    grandchild_cleanup.append(pid_file)
    client = AlphaLiftClient(python=python)
    client.start_timeout = 1.0
    call = Call(client.start)
    error = call.error()
    assert error.code == "worker-died" and "answer" in str(error) and str(client.log_path) in str(error)
    wait_for(lambda: not alive(int(pid_file.read_text())), "the silent worker's group to be stopped")


def test_a_worker_that_falls_silent_mid_request_is_stopped(tiny_home, tmp_path, monkeypatch,
                                                           grandchild_cleanup):
    """Alive (its process exists) but frozen: no progress and no heartbeat past the deadline."""
    monkeypatch.setenv("ALPHALIFT_TEST_PAUSE_AT", "segment")
    python, pid_file = holding_python(tmp_path)
    grandchild_cleanup.append(pid_file)
    client = AlphaLiftClient(python=python)
    client.start()
    client.reply_timeout = 2.0
    worker = client.process
    call = Call(lambda: client.remove(photo_bytes(), 64, 48, model="tiny"))
    wait_for(logged(client, "paused at segment"), "the worker to reach segment")
    os.kill(worker.pid, signal.SIGSTOP)
    error = call.error()
    assert error.code == "worker-died" and "answer" in str(error)
    wait_for(lambda: worker.poll() is not None, "the frozen worker to be killed")
    wait_for(lambda: not alive(int(pid_file.read_text())), "its children to be killed")


def test_heartbeats_keep_a_slow_job_alive_past_the_deadline(tiny_home, monkeypatch):
    """A job paused (by the test hook) for longer than the deadline still ends normally."""
    monkeypatch.setenv("ALPHALIFT_TEST_PAUSE_AT", "refine")
    client = AlphaLiftClient(python=sys.executable)
    client.start()
    client.reply_timeout = 2.0
    call = Call(lambda: client.remove(photo_bytes(), 64, 48, model="tiny"))
    wait_for(logged(client, "paused at refine"), "the worker to reach refine")
    time.sleep(4.5)  # over two deadlines without a progress event
    client.cancel()
    assert call.error().code == "cancelled"
    client.close()


def test_the_worker_sends_heartbeats_while_a_job_runs(tiny_home, private_folder):
    worker = RawWorker(dict(os.environ, ALPHALIFT_TEST_PAUSE_AT="segment"))
    try:
        worker.send({"op": "remove", "id": 5, "image": raw_image(private_folder), "options": {"model": "tiny"}})
        beats = []
        while len(beats) < 2:
            message = worker.messages.get(timeout=HANG_GUARD)
            assert message is not None and message.get("id") == 5 and "ok" not in message
            if message.get("heartbeat"):
                beats.append(message)
        assert all(b["event"] == "progress" and b["stage"] == "segment" for b in beats)
        worker.send({"op": "cancel", "id": 5})
        assert worker.final(5)[0]["error"]["code"] == "cancelled"
    finally:
        worker.process.kill()
        worker.process.wait()


def test_the_worker_log_is_per_user(tmp_path, monkeypatch):
    monkeypatch.delenv("ALPHALIFT_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    paths = {}
    for user in ("alice", "bob"):
        monkeypatch.setenv("HOME", str(tmp_path / user))
        paths[user] = AlphaLiftClient().log_path
        assert paths[user].parent == data_dir()
    assert paths["alice"] != paths["bob"]
    assert paths["alice"].parent != Path(tempfile.gettempdir())
