"""Issue 15 item 2: the worker is started clean of the host's environment and dies with its host.

Hosts run the client inside their own process: the GIMP AppImage sets LD_PRELOAD for its own
libraries, Krita's Flatpak sets PYTHONPATH, and a host can die without closing anything. Each
test here runs a real host process (a Python running the client) and a real worker.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .test_client_liveness import HANG_GUARD, alive, wait_for
from .test_worker_requests import RawWorker, private_folder, raw_image  # noqa: F401 (fixture)

CLIENT_DIR = Path(__file__).resolve().parents[2] / "plugins" / "client"
sys.path.insert(0, str(CLIENT_DIR))
import alphalift_client  # noqa: E402

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG")

HOST = textwrap.dedent("""
    import os, sys, threading
    sys.path.insert(0, {client_dir!r})
    from alphalift_client import AlphaLiftClient
    os.environ.update({spoiled!r})  # what the host's launcher left in its environment
    client = AlphaLiftClient(python=sys.executable)
    if {in_thread!r}:  # as Krita's docker does: the first call runs on a short-lived thread
        thread = threading.Thread(target=client.start)
        thread.start()
        thread.join()
    result = client.remove(bytes(64 * 48 * 4), 64, 48, model="tiny", refine=False)
    print(client.process.pid, len(result.alpha), flush=True)
    sys.stdin.readline()  # the test kills this process here
""")


def exiting_library(folder: Path) -> str:
    """A shared library whose constructor ends any process it is preloaded into (exit 97); a path
    that does not exist (the loader only warns) where no C compiler is at hand."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return str(folder / "missing-libhost.so")
    source = folder / "libhost.c"
    source.write_text("#include <unistd.h>\n"
                      "__attribute__((constructor)) static void f(void) { _exit(97); }\n")
    library = folder / "libhost.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return str(library)


def broken_numpy(folder: Path) -> Path:
    package = folder / "host-site" / "numpy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('the host's numpy, built for another Python')\n")
    return package.parent


class Host:
    """A host process running the client; ``worker`` is the pid of the worker it started."""

    def __init__(self, spoiled: dict[str, str], in_thread: bool = False) -> None:
        script = HOST.format(client_dir=str(CLIENT_DIR), spoiled=spoiled, in_thread=in_thread)
        self.process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line, f"the host failed (exit {self.process.wait(HANG_GUARD)})"
        pid, alpha_size = line.split()
        self.worker = int(pid)
        assert int(alpha_size) == 64 * 48, "the worker answered with a whole matte"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(HANG_GUARD)


@pytest.fixture
def hosts():
    started: list[Host] = []
    yield started
    for host in started:
        host.kill()
        try:
            os.kill(host.worker, signal.SIGKILL)
        except OSError:
            pass


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@linux_only
def test_a_spoiled_host_environment_does_not_reach_the_worker(tiny_home, tmp_path, hosts):
    spoiled = {"LD_PRELOAD": exiting_library(tmp_path), "PYTHONPATH": str(broken_numpy(tmp_path)),
               "PYTHONHOME": str(tmp_path / "no-such-python"), "LD_LIBRARY_PATH": str(tmp_path),
               "PYTHONNOUSERSITE": ""}
    hosts.append(Host(spoiled))
    environment = environ_of(hosts[0].worker)
    for name in ("LD_PRELOAD", "PYTHONPATH", "PYTHONHOME", "LD_LIBRARY_PATH"):
        assert name not in environment, name
    assert environment["PYTHONNOUSERSITE"] == "1"
    assert environment["ALPHALIFT_HOME"] == str(tiny_home), "the rest of the environment is kept"


@linux_only
@pytest.mark.parametrize("in_thread", [False, True], ids=["main-thread", "short-lived-thread"])
def test_the_worker_dies_with_its_host(tiny_home, hosts, in_thread):
    """The worker is frozen first, so it cannot notice its stdin closing: only the kernel's
    parent-death signal can end it. Started from a thread that has ended, it must still be alive
    (Linux sends that signal when the starting *thread* ends, which would kill it far too early)."""
    host = Host({}, in_thread=in_thread)
    hosts.append(host)
    assert alive(host.worker), "the worker outlived the thread that started it"
    os.kill(host.worker, signal.SIGSTOP)
    host.kill()  # SIGKILL: the host gets no chance to stop its worker
    wait_for(lambda: not alive(host.worker), "the worker to die with its host")


def test_the_worker_exits_when_its_stdin_closes_mid_job(tiny_home, private_folder):
    """A host that quits or crashes closes the worker's stdin: a running job is cancelled and the
    worker exits, rather than finishing work nobody will read (on every OS)."""
    worker = RawWorker(dict(os.environ, ALPHALIFT_TEST_PAUSE_AT="segment"))
    try:
        worker.send({"op": "remove", "id": 1, "image": raw_image(private_folder),
                     "options": {"model": "tiny"}})
        while (message := worker.messages.get(timeout=HANG_GUARD)).get("stage") != "segment":
            assert message is not None, "the worker died before the job started"
        worker.process.stdin.close()
        assert worker.process.wait(HANG_GUARD) == 0
    finally:
        worker.process.kill()
        worker.process.wait()


def test_the_worker_environment_drops_the_host_s_python_and_loader_settings(monkeypatch):
    for name in alphalift_client.HOST_ONLY_VARIABLES:
        monkeypatch.setenv(name, "/host/only")
    monkeypatch.setenv("ALPHALIFT_BACKEND", "onnxruntime")
    environment = alphalift_client.worker_environment()
    assert not set(alphalift_client.HOST_ONLY_VARIABLES) & set(environment)
    named = {"PYTHONPATH", "PYTHONHOME", "LD_PRELOAD", "LD_LIBRARY_PATH"}
    assert named <= set(alphalift_client.HOST_ONLY_VARIABLES)
    assert environment["PYTHONNOUSERSITE"] == "1" and environment["ALPHALIFT_BACKEND"] == "onnxruntime"


@pytest.mark.parametrize("platform, expected", [
    ("linux", {"start_new_session", "preexec_fn"}),
    ("darwin", {"start_new_session"}),
    ("win32", {"creationflags"}),
])
def test_spawn_options_per_platform(monkeypatch, platform, expected):
    monkeypatch.setattr(alphalift_client.sys, "platform", platform)
    options = alphalift_client.spawn_options()
    assert set(options) == expected
    if platform == "win32":
        assert options["creationflags"] & 0x08000000, "CREATE_NO_WINDOW: no console window flashes up"


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the 64-bit Windows layout")
def test_the_windows_job_limits_have_the_win64_layout():
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on 64-bit Windows, its LimitFlags at 16:
    a wrong layout would make SetInformationJobObject fail and the worker outlive its host."""
    limits = alphalift_client.job_limits_type()
    assert ctypes.sizeof(limits) == 144
    assert limits.BasicLimitInformation.offset + limits.BasicLimitInformation.size == 64
    basic = type(limits().BasicLimitInformation)
    assert basic.LimitFlags.offset == 16
    assert alphalift_client.JOB_KILL_ON_CLOSE == 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
