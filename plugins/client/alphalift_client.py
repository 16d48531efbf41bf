"""AlphaLift client for host plug-ins: standard library only (any Python >= 3.8, no numpy).

It finds the core's Python (ALPHALIFT_PYTHON, else the client.json the installer wrote), starts
`alphalift serve --stdio` on demand, restarts it if it died, and turns every failure into an
AlphaLiftClientError whose message a user can act on. With ``shared=True`` (GIMP, whose plug-in
process lives for one call) it instead reaches a worker that outlives the call: see
``AlphaLiftClient``. The build copies this file into each plug-in; keep it self-contained.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional, Sequence

PROTOCOL = 1
POLL_SECONDS = 0.2  # how often a waiting request looks at the worker's process
DEATH_GRACE_SECONDS = 0.5  # lines a dead worker wrote may still be in the pipe
LOG_LIMIT = 1 << 20  # the log starts afresh (the last one kept as .old) past this size
IDLE_EXIT_SECONDS = 300.0  # a shared worker with no client for this long exits (ALPHALIFT_IDLE_EXIT)
CONNECT_POLL_SECONDS = 0.05  # how often a client looks for the socket of a worker it started
INSTALL_HINT = "Run `python3 installers/install.py core` from the AlphaLift folder, then try again."


class AlphaLiftClientError(Exception):
    """What went wrong and what to do; ``code`` is the worker's error code where there is one."""

    def __init__(self, message: str, code: str = "client") -> None:
        super().__init__(message)
        self.code = code


FLATPAK_INFO = "/.flatpak-info"  # present in every Flatpak sandbox
# Folders a Flatpak sandbox replaces with its runtime's (or the app's own): an interpreter there
# is not the one the installer set up, or is missing.
SANDBOX_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/app", "/etc")
FLATPAK_TARGETS = {"org.gimp.GIMP": ("GIMP", "gimp"), "org.kde.krita": ("Krita", "krita")}


def in_flatpak() -> bool:
    """True inside a Flatpak sandbox (Flatpak GIMP or Krita runs this client)."""
    return bool(os.environ.get("FLATPAK_ID")) or os.path.exists(FLATPAK_INFO)


def flatpak_app() -> str:
    """The sandboxed app's id (org.gimp.GIMP), or "" when it cannot be told."""
    if os.environ.get("FLATPAK_ID"):
        return os.environ["FLATPAK_ID"]
    try:
        with open(FLATPAK_INFO, encoding="utf-8") as info:
            for line in info:
                if line.startswith("name="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return ""


def data_dir() -> Path:
    """Same folder as platformdirs.user_data_dir("alphalift", appauthor=False). In a Flatpak
    sandbox XDG_DATA_HOME is the app's own folder (~/.var/app/ID/data), so the real home's is used:
    HOST_XDG_DATA_HOME, which Flatpak passes on when the user set one, else ~/.local/share."""
    override = os.environ.get("ALPHALIFT_HOME")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", str(home / "AppData" / "Local"))) / "alphalift"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "alphalift"
    variable = "HOST_XDG_DATA_HOME" if in_flatpak() else "XDG_DATA_HOME"
    return Path(os.environ.get(variable) or str(home / ".local" / "share")) / "alphalift"


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
                                   + install_hint(), "not-installed") from None
    except (ValueError, KeyError):
        raise AlphaLiftClientError(f"{config} is damaged. " + INSTALL_HINT, "not-installed") from None
    if not Path(python).exists():
        raise AlphaLiftClientError(f"AlphaLift's Python {python} is gone. " + INSTALL_HINT,
                                   "not-installed")
    if in_flatpak():
        refuse_system_python(python)
    return python


def install_hint() -> str:
    """INSTALL_HINT, and inside a sandbox how to let the app see an installed core."""
    if not in_flatpak():
        return INSTALL_HINT
    folder = data_dir()
    where = "xdg-data/alphalift" if folder == Path.home() / ".local" / "share" / "alphalift" else str(folder)
    _, target = FLATPAK_TARGETS.get(flatpak_app(), ("", "gimp` or `krita"))
    return (f"Run `python3 installers/install.py {target}` from the AlphaLift folder (outside the "
            f"sandbox), then try again. If it is installed, this Flatpak cannot see {folder}: run "
            f"`flatpak override --user --filesystem={where} {flatpak_app() or 'APP-ID'}` and restart it.")


def system_interpreter(python: str) -> Optional[str]:
    """The system folder ``python`` really runs from (its own real path, or the interpreter its
    venv was made from), or None when it lives elsewhere (a self-contained Python in the data
    folder, say)."""
    candidates = [os.path.realpath(python)]
    config = Path(python).parent.parent / "pyvenv.cfg"
    try:
        for line in config.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                candidates.append(value.strip())
    except OSError:
        pass
    for candidate in candidates:
        if any(candidate == d or candidate.startswith(d + "/") for d in SANDBOX_SYSTEM_DIRS):
            return candidate
    return None


def refuse_system_python(python: str) -> None:
    """Inside a Flatpak /usr is the runtime's: a core made from the host's system Python cannot
    start there (its interpreter is missing or another version)."""
    system = system_interpreter(python)
    if system is None:
        return
    app, target = FLATPAK_TARGETS.get(flatpak_app(), ("this program", "gimp` or `krita"))
    raise AlphaLiftClientError(
        f"AlphaLift's core ({python}) runs on the system's Python ({system}), which {app}'s Flatpak "
        f"sandbox cannot run. Run `python3 installers/install.py {target}` from the AlphaLift folder "
        f"(outside the sandbox): it sets up a self-contained Python that Flatpak can run. Then "
        f"restart {app}.", "not-installed")


class Result:
    """One cut-out: alpha bytes (one value a pixel, format L8, L16 or F32) and the foreground in
    ``foreground_format`` (RGB8 unless asked otherwise), or None."""

    def __init__(self, width: int, height: int, alpha: bytes, alpha_format: str,
                 foreground: Optional[bytes], foreground_format: str = "RGB8") -> None:
        self.width, self.height = width, height
        self.alpha, self.alpha_format, self.foreground = alpha, alpha_format, foreground
        self.foreground_format = foreground_format


class AlphaLiftClient:
    """One worker, started on demand; every request waits for its answer while watching the
    worker, so a worker that died or froze is reported within seconds, never waited on.

    By default the worker is this client's own process, which dies with the host (Krita, Blender).
    ``shared=True`` connects instead to the user's shared worker (`alphalift serve --socket`, in a
    private folder: shared_socket_path), starting it detached if none answers; it keeps the model
    loaded between host processes and exits after ``idle_exit`` seconds without a client. Where
    Unix sockets are missing (Windows) ``shared`` falls back to a worker of the client's own."""

    reply_timeout = 30.0  # seconds without a word from a working worker (it beats every second)
    start_timeout = 120.0  # for its first answer: Python and the core load first (slow disks, antivirus)

    def __init__(self, python: Optional[str] = None, log_path: Optional[Path] = None,
                 command: Optional[List[str]] = None, shared: bool = False,
                 idle_exit: Optional[float] = None) -> None:
        self.python = python
        self.command = command  # a whole worker command line instead of `PYTHON -m alphalift serve`
        self.log_path = log_path or default_log_path()
        self.shared = shared and shared_supported() and command is None
        self.idle_exit = idle_exit
        self.process: Optional[subprocess.Popen] = None  # the client's own worker
        self.connection: Optional[socket.socket] = None  # or its connection to the shared one
        self.worker_pid: Optional[int] = None
        self._closed = threading.Event()  # the connection's end of file was read
        self._send_lock = threading.Lock()
        self.models: List[Dict] = []
        self.defaults: Dict = {}  # the default model, its licence and description, refine on
        self.version = ""
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._next_id = 0
        self._lock = threading.Lock()
        self._current: Optional[int] = None

    # -- the worker process ------------------------------------------------------------------
    def start(self) -> None:
        if self.shared:
            self._start_shared()
            return
        if self.process is not None and self.process.poll() is None:
            return
        self._kill()  # a dead worker's children may still hold its pipes
        command = self.command or [self.python or find_core_python(), "-m", "alphalift", "serve", "--stdio"]
        python = command[0]
        try:
            log = open_log(self.log_path)
            try:
                self.process = spawn(
                    command, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=log, bufsize=1, text=True, encoding="utf-8",
                    env=worker_environment())
            finally:
                log.close()  # the worker has its own copy
        except OSError as exc:
            raise AlphaLiftClientError(f"Could not start AlphaLift's worker with {python}: {exc}. "
                                       + INSTALL_HINT, "not-installed") from None
        self._lines = queue.Queue()
        threading.Thread(target=read_lines, args=(self.process.stdout, self._lines), daemon=True).start()
        self.worker_pid = self.process.pid
        self._hello(self.start_timeout)

    def _start_shared(self) -> None:
        """Connect to the shared worker, or start one and connect. A worker that accepts but does
        not answer hello (it was just leaving, idle) is replaced by a fresh one."""
        if self.connection is not None and not self._closed.is_set():
            return
        self._kill()
        python = self.python or find_core_python()
        path = shared_socket_path(python)
        connection = connect(path)
        if connection is not None:
            self._attach(connection)
            try:
                self._hello(self.reply_timeout)
                return
            except AlphaLiftClientError:
                self._kill()
        self._attach(self._spawn_shared(python, path))
        self._hello(self.start_timeout)

    def _spawn_shared(self, python: str, path: Path) -> socket.socket:
        """Start `serve --socket` detached (its own session, no parent-death signal: it must
        outlive this process) and wait for its socket. A worker that finds another already
        serving leaves at once, and that one's socket answers instead."""
        idle = self.idle_exit if self.idle_exit is not None else idle_exit_setting()
        command = [python, "-m", "alphalift", "serve", "--socket", str(path), "--idle-exit", f"{idle:g}"]
        try:
            log = open_log(self.log_path)
            try:
                process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                           env=worker_environment(), start_new_session=True,
                                           cwd=os.path.abspath(os.sep))  # holds no folder of its host
            finally:
                log.close()
        except OSError as exc:
            raise AlphaLiftClientError(f"Could not start AlphaLift's worker with {python}: {exc}. "
                                       + INSTALL_HINT, "not-installed") from None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            connection = connect(path)
            if connection is not None:
                return connection
            if process.poll() not in (None, 0):  # 0: another worker serves the socket
                raise self._died(f"could not start (exit {process.returncode})")
            time.sleep(CONNECT_POLL_SECONDS)
        if process.poll() is None:
            kill_group(process.pid)
        raise self._died(f"did not open its socket {path} within {self.start_timeout:g} s")

    def _attach(self, connection: socket.socket) -> None:
        self.connection = connection
        self.worker_pid = peer_pid(connection)  # known before hello, to stop one that never answers
        self._closed = threading.Event()
        self._lines = queue.Queue()
        reader = connection.makefile("r", encoding="utf-8", newline="\n")
        threading.Thread(target=read_connection, args=(reader, self._lines, self._closed),
                         daemon=True).start()

    def _hello(self, timeout: Optional[float] = None) -> Dict:
        reply = self._request({"op": "hello", "protocol": PROTOCOL}, timeout=timeout)
        self.version, self.models = reply.get("version", ""), reply.get("models", [])
        self.defaults = reply.get("defaults") or {}
        if self.shared and reply.get("pid"):
            self.worker_pid = reply["pid"]
        return reply

    def _send(self, message: Dict) -> None:
        """One line to the worker; OSError or ValueError when it cannot be delivered."""
        line = json.dumps(message) + "\n"
        with self._send_lock:
            if self.shared:
                if self.connection is None:
                    raise OSError("not connected")
                self.connection.sendall(line.encode("utf-8"))
                return
            process = self.process
            if process is None:
                raise OSError("no worker")
            process.stdin.write(line)
            process.stdin.flush()

    def _running(self) -> bool:
        if self.shared:
            return self.connection is not None and not self._closed.is_set()
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        if self.shared:  # the worker stays for the next client; it ends when idle
            self._kill()
            return
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

    def _kill(self, frozen: bool = False) -> None:
        """Stop the worker and every process it started (they share its process group). A shared
        worker is only left (closing the connection), unless it froze."""
        if self.shared:
            connection, self.connection = self.connection, None
            if connection is not None:
                try:
                    connection.shutdown(socket.SHUT_RDWR)  # ends the reader thread too
                except OSError:
                    pass
                connection.close()
            if frozen and self.worker_pid:
                kill_group(self.worker_pid)
            return
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

    def _died(self, what: str = "stopped unexpectedly", restartable: bool = False,
              frozen: bool = False) -> AlphaLiftClientError:
        self._kill(frozen)
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
        if not self._running():
            raise self._died(restartable=True)
        self._next_id += 1
        message = dict(message, id=self._next_id)
        self._current = self._next_id
        try:
            try:
                self._send(message)
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
                    if ended_at is None and process is not None and process.poll() is not None:
                        ended_at = now
                    if ended_at is not None and now - ended_at >= DEATH_GRACE_SECONDS:
                        raise self._died() from None
                    if now >= deadline:
                        raise self._died(f"stopped answering (nothing for {limit:g} s) and was "
                                         "stopped", frozen=True) from None
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
        current = self._current
        if current is not None:
            try:
                self._send({"op": "cancel", "id": current})
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
                    overwrite: bool = False, sequence: Optional[Dict] = None,
                    prompt: Optional[Dict] = None) -> Dict[str, str]:
        """Cut out an image file; the worker writes PNGs (keys mask, foreground, rgba -> paths).

        An existing file is replaced only with ``overwrite``; the source never is.
        ``sequence``: {"id", "frame", "start"}, a frame of a shot with temporal smoothing (with
        an empty ``save``, a warm-up frame); the protocol's "Sequence sessions" say how.
        ``prompt``: see ``make_prompt``."""
        options = {"model": model, "refine": bool(refine), "foreground": False,
                   "save": {kind: os.path.abspath(path) for kind, path in save.items()},
                   "overwrite": bool(overwrite)}  # absolute: a shared worker has its own folder
        if sequence is not None:
            options["sequence"] = dict(sequence)
        if prompt:
            options["prompt"] = dict(prompt)
        image = {"file": os.path.abspath(source)}
        reply = self._call({"op": "remove", "image": image, "options": options}, on_progress)
        return reply["saved"]

    def remove(self, pixels: bytes, width: int, height: int, pixel_format: str = "RGBA8",
               model: Optional[str] = None, refine: bool = True, foreground: bool = True,
               alpha_format: str = "L8", linear: bool = False, limit: Optional[bytes] = None,
               on_progress: Optional[Callable[[float, str], None]] = None,
               foreground_format: str = "RGB8", foreground_alpha: str = "opaque",
               flip: bool = False, prompt: Optional[Dict] = None) -> Result:
        """Cut out raw pixels (row-major, no padding); returns the matte (and colours).

        ``linear``: float pixels are linear light (as in Krita's float colour spaces).
        ``limit``: an 8-bit selection (one byte a pixel); outside it the returned alpha stays opaque.
        ``foreground_format``: RGB8, RGBA8 (GIMP), BGRA8 (Krita) or RGBAF (Blender); the 4-channel
        ones carry an opaque alpha, or the matte with ``foreground_alpha="matte"``.
        ``flip``: rows run bottom-up (Blender) in the pixels, the limit and the result alike.
        ``prompt``: what the subject is (``make_prompt``), in pixels of the image as seen (top-left
        origin, y down), whatever ``flip`` says of the rows' order."""
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
            if prompt:
                options["prompt"] = dict(prompt)
            reply = self._call({"op": "remove", "image": {
                "path": str(source), "width": width, "height": height, "format": pixel_format,
                "linear": bool(linear), "flip": bool(flip)}, "options": options}, on_progress)
            alpha = Path(reply["alpha"]["path"]).read_bytes()
            colours = Path(reply["foreground"]["path"]).read_bytes() if "foreground" in reply else None
            return Result(reply["width"], reply["height"], alpha, reply["alpha"]["format"], colours,
                          reply.get("foreground", {}).get("format", foreground_format))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def make_prompt(box: Optional[Sequence[float]] = None, include: Sequence[Sequence[float]] = (),
                exclude: Sequence[Sequence[float]] = ()) -> Optional[Dict]:
    """The protocol's "prompt": a box (x0, y0, x1, y1) the subject lies in and points on it
    (include) or off it (exclude), in image pixels; None when nothing is said."""
    if box is None and not include and not exclude:
        return None
    return {"box": None if box is None else [float(v) for v in box],
            "include": [[float(x), float(y)] for x, y in include],
            "exclude": [[float(x), float(y)] for x, y in exclude]}


def shared_supported() -> bool:
    """Unix sockets and POSIX file modes: not on Windows, whose Python may lack AF_UNIX."""
    return os.name == "posix" and hasattr(socket, "AF_UNIX")


def idle_exit_setting() -> float:
    text = os.environ.get("ALPHALIFT_IDLE_EXIT", "").strip()
    try:
        seconds = float(text) if text else IDLE_EXIT_SECONDS
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise AlphaLiftClientError(f"ALPHALIFT_IDLE_EXIT={text!r} is not a number of seconds above 0; "
                                   "set it to one (e.g. 300) or unset it.", "bad-setting")
    return seconds


def socket_folder() -> Path:
    """The user's runtime folder (XDG_RUNTIME_DIR, made private by the login manager), else a
    folder of the user's own in the temporary folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return Path(runtime) / "alphalift"
    return Path(tempfile.gettempdir()) / f"alphalift.{os.geteuid()}"


def shared_socket_path(python: str) -> Path:
    """The shared worker's socket, in a private folder (made here if missing, refused if another
    user could reach it: a worker there could read every image sent). One worker serves one core
    (``python``), one model folder and one temporary folder, so its name hashes all three."""
    folder = socket_folder()
    try:
        os.mkdir(str(folder), 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise AlphaLiftClientError(f"Could not make AlphaLift's socket folder {folder}: {exc}.",
                                   "unsafe-socket-folder") from None
    info = os.lstat(str(folder))
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise AlphaLiftClientError(f"AlphaLift's socket folder {folder} is not private (it must be "
                                   f"your own folder with mode 0700). Remove it and try again.",
                                   "unsafe-socket-folder")
    key = json.dumps([python, str(data_dir()), tempfile.gettempdir(), PROTOCOL])
    return folder / f"worker-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}.sock"


def connect(path: Path) -> Optional[socket.socket]:
    """A connection to the worker at ``path``; None when none listens there (no file, or a dead
    worker's file)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def peer_pid(connection: socket.socket) -> Optional[int]:
    """The process at the other end (Linux: SO_PEERCRED); None where it cannot be told."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        pid = int.from_bytes(connection.getsockopt(socket.SOL_SOCKET, option, 12)[:4], sys.byteorder)
    except OSError:
        return None
    return pid or None


def kill_group(pid: int) -> None:
    """SIGKILL a shared worker and what it started (it leads its own session and group)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def read_connection(stream: IO[str], lines: "queue.Queue[Optional[str]]", closed: threading.Event) -> None:
    """read_lines for a socket, noting its end for ``_running``."""
    try:
        read_lines(stream, lines)
    finally:
        closed.set()
        try:
            stream.close()
        except (OSError, ValueError):
            pass


def open_log(path: Path) -> IO[bytes]:
    """The worker's log for appending, the previous one kept as .old once it grows large."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.stat().st_size > LOG_LIMIT:
            os.replace(str(path), str(path) + ".old")
    except OSError:
        pass
    return open(path, "ab")


# Set by a host's launcher for the host's own Python and libraries (the GIMP AppImage's LD_PRELOAD,
# Krita's Flatpak PYTHONPATH): inherited, they make the core's Python load the wrong numpy, or
# not start at all.
HOST_ONLY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "LD_PRELOAD",
                       "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH")
CREATE_NO_WINDOW = 0x08000000  # Windows: no console window for the worker
PR_SET_PDEATHSIG = 1  # Linux prctl(2)
JOB_KILL_ON_CLOSE = 0x2000  # Windows JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE


def worker_environment() -> Dict[str, str]:
    """The host's environment without its Python and loader settings, user site-packages off, and
    the temporary folder this client makes its pixel folders in (a host may have changed
    tempfile's folder; the worker accepts pixels only inside it)."""
    env = {name: value for name, value in os.environ.items() if name.upper() not in HOST_ONLY_VARIABLES}
    env["PYTHONNOUSERSITE"] = "1"
    if in_flatpak():  # the core would read the app's XDG_DATA_HOME and miss the user's models
        env["ALPHALIFT_HOME"] = str(data_dir())
    folder = tempfile.gettempdir()
    for name in (("TMP", "TEMP") if sys.platform == "win32" else ("TMPDIR",)):
        env[name] = folder
    return env


def spawn_options() -> Dict:
    """Popen options that tie the worker to its host.

    POSIX: the worker leads its own process group, so stopping it stops whatever it started too
    (a grandchild holding its stdout would otherwise outlive it). Linux: the kernel kills it when
    the host dies (PR_SET_PDEATHSIG). Windows: no console window. Everywhere, the worker also
    exits when its stdin closes, which a dying host does."""
    if sys.platform == "win32":
        return {"creationflags": CREATE_NO_WINDOW}
    options: Dict = {"start_new_session": True}
    if sys.platform.startswith("linux"):
        options["preexec_fn"] = die_with_parent(os.getpid())
    return options


def die_with_parent(parent: int) -> Optional[Callable[[], None]]:
    """What the forked worker runs before exec: ask for SIGKILL when its parent goes, and go at
    once if the parent already has. None where libc's prctl cannot be reached."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not after
    except (ImportError, OSError, AttributeError):
        return None

    def arrange() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
    return arrange


_spawner_lock = threading.Lock()
_spawner: Optional[threading.Thread] = None
_spawn_requests: "queue.Queue" = queue.Queue()
_windows_job = None  # the job object every worker joins; closed (workers killed) when the host ends


def spawn(args: List[str], **popen: object) -> subprocess.Popen:
    """Start a worker with spawn_options().

    On Linux it is started from one thread that lives as long as the host: the kernel sends the
    parent-death signal when the *thread* that started a child ends, and hosts call the client
    from short-lived threads (Krita's docker does). On Windows it joins a kill-on-close job."""
    if not sys.platform.startswith("linux"):
        process = subprocess.Popen(args, **spawn_options(), **popen)  # type: ignore[call-overload]
        if sys.platform == "win32":
            join_windows_job(process)
        return process
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=spawn_loop, name="alphalift-spawner", daemon=True)
            _spawner.start()
    answer: "queue.Queue" = queue.Queue(maxsize=1)
    _spawn_requests.put((args, popen, answer))
    started, outcome = answer.get()
    if not started:
        raise outcome
    return outcome


def spawn_loop() -> None:
    while True:
        args, popen, answer = _spawn_requests.get()
        try:
            answer.put((True, subprocess.Popen(args, **spawn_options(), **popen)))
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            answer.put((False, exc))


def job_limits_type() -> type:
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION (with its BASIC and IO_COUNTERS parts), in ctypes."""
    import ctypes

    class Basic(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                    ("SchedulingClass", ctypes.c_uint32)]

    class IoCounters(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint64) for name in ("ReadOperationCount", "WriteOperationCount",
                    "OtherOperationCount", "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

    class ExtendedLimits(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", Basic), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]
    return ExtendedLimits


def join_windows_job(process: subprocess.Popen) -> None:
    """Put the worker in a job object that kills it when the host's handle to the job closes,
    which Windows does when the host ends, however it ends. Best effort: without it the worker
    still exits when its stdin closes."""
    global _windows_job
    try:
        import ctypes
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.CreateJobObjectW.restype = ctypes.c_void_p
        kernel32.SetInformationJobObject.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                                     ctypes.c_uint32]
        kernel32.AssignProcessToJobObject.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        if _windows_job is None:
            job = kernel32.CreateJobObjectW(None, None)
            limits = job_limits_type()()
            limits.BasicLimitInformation.LimitFlags = JOB_KILL_ON_CLOSE
            extended_limit_information = 9
            if not job or not kernel32.SetInformationJobObject(job, extended_limit_information,
                                                               ctypes.byref(limits), ctypes.sizeof(limits)):
                return
            _windows_job = job
        kernel32.AssignProcessToJobObject(_windows_job, int(process._handle))  # type: ignore[attr-defined]
    except (ImportError, OSError, AttributeError, ValueError):
        pass


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
