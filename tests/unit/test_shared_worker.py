"""Issue 12, interactive speed: a worker shared by many short-lived host calls (GIMP starts a
plug-in process per click), over a private Unix socket.

Every test runs real processes: clients (AlphaLiftClient(shared=True)) and the detached worker
they start (`alphalift serve --socket`), in a runtime folder of the test's own.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .test_client_liveness import HANG_GUARD, Call, alive, photo_bytes, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "client"))
import alphalift_client  # noqa: E402
from alphalift_client import AlphaLiftClient  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix sockets and /proc")


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_RUNTIME_DIR of the test's own (0700, as logind makes it)."""
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.delenv("ALPHALIFT_TEST_PAUSE_AT", raising=False)
    return folder


@pytest.fixture
def workers(runtime: Path, tiny_home: Path):
    """Makes shared clients; at the end closes them and kills every worker they reached (a shared
    worker is detached from its client: nothing else would stop it before its idle time)."""
    clients: list[AlphaLiftClient] = []
    pids: set[int] = set()

    def make(idle_exit: float = 60.0) -> AlphaLiftClient:
        client = AlphaLiftClient(python=sys.executable, shared=True, idle_exit=idle_exit)
        clients.append(client)
        return client

    yield make
    for client in clients:
        if client.worker_pid:
            pids.add(client.worker_pid)
        client.close()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def cut(client: AlphaLiftClient) -> bytes:
    result = client.remove(photo_bytes(), 64, 48, model="tiny", refine=False)
    assert len(result.alpha) == 64 * 48
    return result.alpha


def serve(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alphalift", "serve", "--socket", str(path), *extra],
                          capture_output=True, text=True, timeout=HANG_GUARD)


def test_clients_in_sequence_share_one_worker(workers):
    first = workers()
    alpha = cut(first)
    pid = first.worker_pid
    first.close()
    assert alive(pid), "the worker outlives the call that started it"
    second = workers()
    assert cut(second) == alpha
    assert second.worker_pid == pid, "the second call reached the same worker"
    assert second.process is None, "and started no process of its own"


def test_the_socket_is_private(workers, runtime):
    client = workers()
    cut(client)
    folder = runtime / "alphalift"
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    sockets = [p for p in folder.iterdir() if stat.S_ISSOCK(os.lstat(p).st_mode)]
    assert len(sockets) == 1
    assert stat.S_IMODE(os.lstat(sockets[0]).st_mode) == 0o600


def test_without_a_runtime_folder_the_socket_goes_in_a_private_temporary_one(workers, monkeypatch,
                                                                              tmp_path):
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr(alphalift_client.tempfile, "tempdir", str(tmp_path))
    client = workers()
    cut(client)
    folder = tmp_path / f"alphalift.{os.getuid()}"
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    assert any(stat.S_ISSOCK(os.lstat(p).st_mode) for p in folder.iterdir())


def test_an_idle_worker_exits(workers, runtime):
    client = workers(idle_exit=0.5)
    cut(client)
    pid = client.worker_pid
    time.sleep(1.5)
    assert alive(pid), "a worker with a client connected is not idle"
    client.close()
    wait_for(lambda: not alive(pid), "the idle worker to exit")
    assert not [p for p in (runtime / "alphalift").iterdir() if p.suffix == ".sock"], \
        "it took its socket with it"
    again = workers()
    cut(again)
    assert again.worker_pid != pid


def test_a_stale_socket_is_replaced(workers, runtime):
    first = workers()
    cut(first)
    old = first.worker_pid
    first.close()
    os.kill(old, signal.SIGKILL)  # dies without removing its socket file
    wait_for(lambda: not alive(old), "the worker to die")
    [path] = [p for p in (runtime / "alphalift").iterdir() if p.suffix == ".sock"]
    assert stat.S_ISSOCK(os.lstat(path).st_mode), "the dead worker's socket file is still there"
    second = workers()
    cut(second)
    assert second.worker_pid not in (None, old)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600


def test_a_second_worker_leaves_the_live_one_alone(workers, runtime):
    client = workers()
    cut(client)
    pid = client.worker_pid
    client.close()
    [path] = [p for p in (runtime / "alphalift").iterdir() if p.suffix == ".sock"]
    second = serve(path)
    assert second.returncode == 0 and "already" in second.stderr, second.stderr
    again = workers()
    cut(again)
    assert again.worker_pid == pid, "the socket still leads to the first worker"


@pytest.mark.parametrize("stage", ["segment"])
def test_a_shared_worker_killed_mid_request_is_reported_and_replaced(workers, monkeypatch, stage):
    monkeypatch.setenv("ALPHALIFT_TEST_PAUSE_AT", stage)  # the worker inherits it when started
    client = workers()
    reached = threading.Event()
    call = Call(lambda: client.remove(photo_bytes(), 64, 48, model="tiny",
                                      on_progress=lambda f, s: s == stage and reached.set()))
    assert reached.wait(HANG_GUARD), "the worker did not reach the pause"
    old = client.worker_pid
    os.kill(old, signal.SIGKILL)
    error = call.error()
    assert error.code == "worker-died" and str(client.log_path) in str(error)
    monkeypatch.delenv("ALPHALIFT_TEST_PAUSE_AT")
    cut(client)  # the same client's next call starts a fresh worker
    assert client.worker_pid not in (None, old) and alive(client.worker_pid)


def test_a_frozen_shared_worker_is_stopped(workers, monkeypatch):
    monkeypatch.setenv("ALPHALIFT_TEST_PAUSE_AT", "segment")
    client = workers()
    client.start()
    client.reply_timeout = 2.0
    reached = threading.Event()
    call = Call(lambda: client.remove(photo_bytes(), 64, 48, model="tiny",
                                      on_progress=lambda f, s: s == "segment" and reached.set()))
    assert reached.wait(HANG_GUARD)
    pid = client.worker_pid
    os.kill(pid, signal.SIGSTOP)
    error = call.error()
    assert error.code == "worker-died" and "answer" in str(error)
    wait_for(lambda: not alive(pid), "the frozen worker to be killed")


def test_concurrent_clients_are_both_answered(workers):
    first, second = workers(), workers()
    first.start()
    second.start()
    assert first.worker_pid == second.worker_pid
    calls = [Call(lambda c=c: cut(c)) for c in (first, second)]
    for call in calls:
        call.thread.join(HANG_GUARD)
        assert isinstance(call.outcome, bytes), call.outcome
    assert calls[0].outcome == calls[1].outcome


def loose(folder: Path) -> None:
    folder.mkdir(mode=0o700)
    folder.chmod(0o755)


def foreign(folder: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a folder to another user")
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)


@pytest.mark.parametrize("spoil", [loose, foreign], ids=["mode-0755", "owned-by-another-user"])
def test_a_folder_that_is_not_private_is_refused(workers, runtime, spoil):
    folder = runtime / "alphalift"
    spoil(folder)
    refused = serve(folder / "worker.sock")
    assert refused.returncode == 1
    assert refused.stderr.startswith("alphalift: error: ") and refused.stderr.count("\n") == 1, refused.stderr
    assert str(folder) in refused.stderr
    assert list(folder.iterdir()) == [], "nothing was made in it"
    client = workers()
    with pytest.raises(alphalift_client.AlphaLiftClientError) as caught:
        cut(client)
    assert str(folder) in str(caught.value) and caught.value.code == "unsafe-socket-folder"
    assert list(folder.iterdir()) == []


def test_a_stale_socket_path_that_is_not_a_socket_is_refused(runtime, tiny_home):
    folder = runtime / "alphalift"
    folder.mkdir(mode=0o700)
    (folder / "worker.sock").write_text("not a socket")
    refused = serve(folder / "worker.sock")
    assert refused.returncode == 1 and "not a socket" in refused.stderr, refused.stderr
    assert (folder / "worker.sock").read_text() == "not a socket"


def test_where_unix_sockets_are_missing_each_client_has_its_own_worker(runtime, tiny_home, monkeypatch):
    """Windows' Python may lack AF_UNIX: shared=True falls back to the per-call worker."""
    monkeypatch.delattr(alphalift_client.socket, "AF_UNIX")
    client = AlphaLiftClient(python=sys.executable, shared=True)
    try:
        cut(client)
        assert not client.shared and client.process is not None
        assert client.worker_pid == client.process.pid
    finally:
        client.close()
    assert not (runtime / "alphalift").exists()


def test_the_idle_time_must_be_positive(tmp_path):
    done = serve(tmp_path / "w.sock", "--idle-exit", "0")
    assert done.returncode == 2 and "--idle-exit" in done.stderr


def test_a_socket_connection_speaks_the_protocol(workers, runtime):
    """A plain socket client: hello names the worker's pid; shutdown ends only that connection."""
    client = workers()
    cut(client)
    [path] = [p for p in (runtime / "alphalift").iterdir() if p.suffix == ".sock"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.settimeout(HANG_GUARD)
        raw.connect(str(path))
        stream = raw.makefile("rw", encoding="utf-8")
        stream.write('{"op": "hello", "protocol": 1, "id": 1}\n{"op": "shutdown"}\n')
        stream.flush()
        reply = json.loads(stream.readline())
        assert reply["ok"] and reply["pid"] == client.worker_pid
        assert stream.readline() == "", "shutdown closed the connection"
    assert alive(client.worker_pid), "but not the shared worker"


def test_a_reinstalled_worker_hands_the_socket_to_a_fresh_one(workers):
    """After an upgrade the old worker must not go on serving old code: at the next connection it
    leaves, and the client gets a worker running the new files (here: one file touched)."""
    first = workers()
    cut(first)
    old = first.worker_pid
    first.close()
    import alphalift.worker.listen as listen

    source = Path(listen.__file__)
    info = source.stat()
    os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    try:
        second = workers()
        cut(second)
    finally:
        os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert second.worker_pid not in (None, old)
    wait_for(lambda: not alive(old), "the replaced worker to exit")


def test_relative_file_paths_mean_the_callers_folder(workers, tmp_path, monkeypatch):
    """The shared worker runs in a folder of its own: a file request's relative paths are the
    calling host's."""
    from PIL import Image

    from ..conftest import red_disc

    first = workers()
    cut(first)  # the worker now runs, started from the test's folder
    caller = tmp_path / "caller"
    caller.mkdir()
    Image.fromarray(red_disc((40, 30), radius=10)).save(caller / "disc.png")
    monkeypatch.chdir(caller)
    saved = workers().remove_file("disc.png", {"mask": "disc-mask.png"}, model="tiny", refine=False)
    assert Path(saved["mask"]) == caller / "disc-mask.png" and (caller / "disc-mask.png").is_file()
