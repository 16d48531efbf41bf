"""AlphaLift client for host plug-ins: standard library only (any Python >= 3.8, no numpy).

It finds the core's Python (ALPHALIFT_PYTHON, else the client.json the installer wrote), starts
`alphalift serve --stdio` on demand, restarts it if it died, and turns every failure into an
AlphaLiftClientError whose message a user can act on. The build copies this file into each
plug-in; keep it self-contained.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional

PROTOCOL = 1
POLL_SECONDS = 0.2  # how often a waiting request looks at the worker's process
DEATH_GRACE_SECONDS = 0.5  # lines a dead worker wrote may still be in the pipe
LOG_LIMIT = 1 << 20  # the log starts afresh (the last one kept as .old) past this size
INSTALL_HINT = "Run `python3 installers/install.py core` from the AlphaLift folder, then try again."


class AlphaLiftClientError(Exception):
    """What went wrong and what to do; ``code`` is the worker's error code where there is one."""

    def __init__(self, message: str, code: str = "client") -> None:
        super().__init__(message)
        self.code = code


def data_dir() -> Path:
    """Same folder as platformdirs.user_data_dir("alphalift", appauthor=False)."""
    override = os.environ.get("ALPHALIFT_HOME")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", str(home / "AppData" / "Local"))) / "alphalift"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "alphalift"
    return Path(os.environ.get("XDG_DATA_HOME", str(home / ".local" / "share"))) / "alphalift"


def default_log_path() -> Path:
    """The worker's log, in the user's own data folder (a shared temporary folder would mix users'
    logs, or let one user's file stop another's worker from starting)."""
    return data_dir() / "worker.log"


def find_core_python() -> str:
    override = os.environ.get("ALPHALIFT_PYTHON")
    if override:
        return override
    config = data_dir() / "client.json"
    try:
        python = json.loads(config.read_text(encoding="utf-8"))["python"]
    except FileNotFoundError:
        raise AlphaLiftClientError(f"AlphaLift's core is not installed ({config} is missing). "
                                   + INSTALL_HINT, "not-installed") from None
    except (ValueError, KeyError):
        raise AlphaLiftClientError(f"{config} is damaged. " + INSTALL_HINT, "not-installed") from None
    if not Path(python).exists():
        raise AlphaLiftClientError(f"AlphaLift's Python {python} is gone. " + INSTALL_HINT,
                                   "not-installed")
    return python


class Result:
    """One cut-out: alpha bytes (one value a pixel, format L8, L16 or F32) and the foreground in
    ``foreground_format`` (RGB8 unless asked otherwise), or None."""

    def __init__(self, width: int, height: int, alpha: bytes, alpha_format: str,
                 foreground: Optional[bytes], foreground_format: str = "RGB8") -> None:
        self.width, self.height = width, height
        self.alpha, self.alpha_format, self.foreground = alpha, alpha_format, foreground
        self.foreground_format = foreground_format


class AlphaLiftClient:
    """One worker process, started on demand; every request waits for its answer while watching
    the process, so a worker that died or froze is reported within seconds, never waited on."""

    reply_timeout = 30.0  # seconds without a word from a working worker (it beats every second)
    start_timeout = 120.0  # for its first answer: Python and the core load first (slow disks, antivirus)

    def __init__(self, python: Optional[str] = None, log_path: Optional[Path] = None) -> None:
        self.python = python
        self.log_path = log_path or default_log_path()
        self.process: Optional[subprocess.Popen] = None
        self.models: List[Dict] = []
        self.defaults: Dict = {}  # the default model, its licence and description, refine on
        self.version = ""
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._next_id = 0
        self._lock = threading.Lock()
        self._current: Optional[int] = None

    # -- the worker process ------------------------------------------------------------------
    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self._kill()  # a dead worker's children may still hold its pipes
        python = self.python or find_core_python()
        try:
            log = open_log(self.log_path)
            try:
                self.process = subprocess.Popen(
                    [python, "-m", "alphalift", "serve", "--stdio"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=log, bufsize=1, text=True, encoding="utf-8",
                    env=worker_environment(), **own_process_group())
            finally:
                log.close()  # the worker has its own copy
        except OSError as exc:
            raise AlphaLiftClientError(f"Could not start AlphaLift's worker with {python}: {exc}. "
                                       + INSTALL_HINT, "not-installed") from None
        self._lines = queue.Queue()
        threading.Thread(target=read_lines, args=(self.process.stdout, self._lines), daemon=True).start()
        self._hello(self.start_timeout)

    def _hello(self, timeout: Optional[float] = None) -> Dict:
        reply = self._request({"op": "hello", "protocol": PROTOCOL}, timeout=timeout)
        self.version, self.models = reply.get("version", ""), reply.get("models", [])
        self.defaults = reply.get("defaults") or {}
        return reply

    def close(self) -> None:
        process = self.process
        if process is None:
            return
        try:
            if process.poll() is None:
                process.stdin.write(json.dumps({"op": "shutdown"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self._kill()  # and whatever it left running (OpenVINO's telemetry child, say)

    def __enter__(self) -> "AlphaLiftClient":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kill(self) -> None:
        """Stop the worker and every process it started (they share its process group)."""
        process, self.process = self.process, None
        if process is None:
            return
        if os.name == "posix":
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:  # the group is already empty
                pass
        try:
            process.kill()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            process.stdin.close()
        except (OSError, ValueError):
            pass

    def _died(self, what: str = "stopped unexpectedly", restartable: bool = False) -> AlphaLiftClientError:
        self._kill()
        tail = ""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            tail = lines[-1] if lines else ""
        except OSError:
            pass
        error = AlphaLiftClientError(f"AlphaLift's worker {what} ({tail or 'no message'}). "
                                     f"Its log is {self.log_path}.", "worker-died")
        error.restartable = restartable  # type: ignore[attr-defined]
        return error

    def _request(self, message: Dict, on_progress: Optional[Callable[[float, str], None]] = None,
                 timeout: Optional[float] = None) -> Dict:
        """Send one request and read replies until its final answer.

        Any message from the worker (progress, heartbeat) restarts the deadline; a worker whose
        process has ended, or that says nothing for ``timeout`` seconds, is stopped and reported."""
        process = self.process
        if process is None or process.poll() is not None:
            raise self._died(restartable=True)
        self._next_id += 1
        message = dict(message, id=self._next_id)
        self._current = self._next_id
        try:
            try:
                process.stdin.write(json.dumps(message) + "\n")
                process.stdin.flush()
            except (OSError, ValueError):
                raise self._died(restartable=True) from None
            limit = timeout or self.reply_timeout
            deadline = time.monotonic() + limit
            ended_at: Optional[float] = None
            while True:
                try:
                    line = self._lines.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    now = time.monotonic()
                    if ended_at is None and process.poll() is not None:
                        ended_at = now
                    if ended_at is not None and now - ended_at >= DEATH_GRACE_SECONDS:
                        raise self._died() from None
                    if now >= deadline:
                        raise self._died(f"stopped answering (nothing for {limit:g} s) and was "
                                         "stopped") from None
                    continue
                if line is None:  # end of file: its stdout closed
                    raise self._died()
                deadline = time.monotonic() + limit
                reply = parse_reply(line)
                if reply is None or reply.get("id") != message["id"]:
                    continue  # not the protocol, or a late reply to an earlier, cancelled request
                if reply.get("event") == "progress":
                    if on_progress is not None and not reply.get("heartbeat"):
                        on_progress(float(reply.get("fraction", 0.0)), str(reply.get("stage", "")))
                    continue
                if not reply.get("ok"):
                    error = reply.get("error") or {}
                    raise AlphaLiftClientError(error.get("message", "unknown error"),
                                               error.get("code", "error"))
                return reply
        finally:
            self._current = None

    def _call(self, message: Dict, on_progress=None) -> Dict:
        """A request, restarting a worker found dead before the request reached it (once).

        A worker that dies while working is reported, not restarted into the same request: the
        request may be what killed it (memory), and the user should hear so at once."""
        with self._lock:
            for attempt in (1, 2):
                self.start()
                try:
                    return self._request(message, on_progress)
                except AlphaLiftClientError as exc:
                    if not getattr(exc, "restartable", False) or attempt == 2:
                        raise
        raise AssertionError("unreachable")

    # -- what hosts call ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the running cut-out to stop (safe from another thread)."""
        process, current = self.process, self._current
        if process is not None and current is not None:
            try:
                process.stdin.write(json.dumps({"op": "cancel", "id": current}) + "\n")
                process.stdin.flush()
            except (OSError, ValueError):
                pass

    def list_models(self) -> List[Dict]:
        """The catalogue as the worker sees it: name, licence, size, cached, default, description.
        ``defaults`` is refreshed too (the default model, its licence and description, refine)."""
        with self._lock:
            self.start()
            self._hello()
        return list(self.models)

    def download(self, model: Optional[str] = None) -> str:
        return self._call({"op": "download", "model": model})["path"]

    def remove_file(self, source: str, save: Dict[str, str], model: Optional[str] = None,
                    refine: bool = True,
                    on_progress: Optional[Callable[[float, str], None]] = None,
                    overwrite: bool = False) -> Dict[str, str]:
        """Cut out an image file; the worker writes PNGs (keys mask, foreground, rgba -> paths).

        An existing file is replaced only with ``overwrite``; the source never is."""
        reply = self._call({"op": "remove", "image": {"file": str(source)}, "options": {
            "model": model, "refine": bool(refine), "foreground": False,
            "save": {kind: str(path) for kind, path in save.items()}, "overwrite": bool(overwrite)}},
            on_progress)
        return reply["saved"]

    def remove(self, pixels: bytes, width: int, height: int, pixel_format: str = "RGBA8",
               model: Optional[str] = None, refine: bool = True, foreground: bool = True,
               alpha_format: str = "L8", linear: bool = False, limit: Optional[bytes] = None,
               on_progress: Optional[Callable[[float, str], None]] = None,
               foreground_format: str = "RGB8", foreground_alpha: str = "opaque",
               flip: bool = False) -> Result:
        """Cut out raw pixels (row-major, no padding); returns the matte (and colours).

        ``linear``: float pixels are linear light (as in Krita's float colour spaces).
        ``limit``: an 8-bit selection (one byte a pixel); outside it the returned alpha stays opaque.
        ``foreground_format``: RGB8, RGBA8 (GIMP), BGRA8 (Krita) or RGBAF (Blender); the 4-channel
        ones carry an opaque alpha, or the matte with ``foreground_alpha="matte"``.
        ``flip``: rows run bottom-up (Blender) in the pixels, the limit and the result alike."""
        folder = Path(tempfile.mkdtemp(prefix="alphalift-"))  # mode 0700: the worker checks it
        try:
            source = folder / "input.raw"
            source.write_bytes(pixels)
            options = {"model": model, "refine": bool(refine), "foreground": bool(foreground),
                       "alpha_format": alpha_format, "foreground_format": foreground_format,
                       "foreground_alpha": foreground_alpha}
            if limit is not None:
                (folder / "limit.raw").write_bytes(limit)
                options["limit"] = str(folder / "limit.raw")
            reply = self._call({"op": "remove", "image": {
                "path": str(source), "width": width, "height": height, "format": pixel_format,
                "linear": bool(linear), "flip": bool(flip)}, "options": options}, on_progress)
            alpha = Path(reply["alpha"]["path"]).read_bytes()
            colours = Path(reply["foreground"]["path"]).read_bytes() if "foreground" in reply else None
            return Result(reply["width"], reply["height"], alpha, reply["alpha"]["format"], colours,
                          reply.get("foreground", {}).get("format", foreground_format))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def open_log(path: Path) -> IO[bytes]:
    """The worker's log for appending, the previous one kept as .old once it grows large."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.stat().st_size > LOG_LIMIT:
            os.replace(str(path), str(path) + ".old")
    except OSError:
        pass
    return open(path, "ab")


def worker_environment() -> Dict[str, str]:
    """The host's environment, with the temporary folder this client makes its pixel folders in
    (a host may have changed tempfile's folder; the worker accepts pixels only inside it)."""
    env = dict(os.environ)
    folder = tempfile.gettempdir()
    for name in (("TMP", "TEMP") if sys.platform == "win32" else ("TMPDIR",)):
        env[name] = folder
    return env


def own_process_group() -> Dict:
    """Start the worker as the leader of its own process group, so stopping it stops whatever it
    started too (a grandchild holding its stdout would otherwise outlive it)."""
    return {"start_new_session": True} if os.name == "posix" else {}


def read_lines(stream: IO[str], lines: "queue.Queue[Optional[str]]") -> None:
    """The reader thread: every line of the worker's stdout, then None at end of file."""
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)


def parse_reply(line: str) -> Optional[Dict]:
    try:
        reply = json.loads(line)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None
