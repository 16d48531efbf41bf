"""AlphaLift client for host plug-ins: standard library only (any Python >= 3.8, no numpy).

It finds the core's Python (ALPHALIFT_PYTHON, else the client.json the installer wrote), starts
`alphalift serve --stdio` on demand, restarts it if it died, and turns every failure into an
AlphaLiftClientError whose message a user can act on. The build copies this file into each
plug-in; keep it self-contained.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional

PROTOCOL = 1
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
    """One cut-out: alpha bytes (one value a pixel, format L8, L16 or F32), foreground RGB8 bytes."""

    def __init__(self, width: int, height: int, alpha: bytes, alpha_format: str,
                 foreground: Optional[bytes]) -> None:
        self.width, self.height = width, height
        self.alpha, self.alpha_format, self.foreground = alpha, alpha_format, foreground


class AlphaLiftClient:
    def __init__(self, python: Optional[str] = None, log_path: Optional[Path] = None) -> None:
        self.python = python
        self.log_path = log_path or Path(tempfile.gettempdir()) / "alphalift-worker.log"
        self.process: Optional[subprocess.Popen] = None
        self.models: List[Dict] = []
        self.version = ""
        self._next_id = 0
        self._lock = threading.Lock()
        self._current: Optional[int] = None

    # -- the worker process ------------------------------------------------------------------
    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        python = self.python or find_core_python()
        try:
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                [python, "-m", "alphalift", "serve", "--stdio"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, bufsize=1, text=True, encoding="utf-8")
        except OSError as exc:
            raise AlphaLiftClientError(f"Could not start AlphaLift's worker with {python}: {exc}. "
                                       + INSTALL_HINT, "not-installed") from None
        reply = self._request({"op": "hello", "protocol": PROTOCOL})
        self.version, self.models = reply.get("version", ""), reply.get("models", [])

    def close(self) -> None:
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                self.process.stdin.write(json.dumps({"op": "shutdown"}) + "\n")
                self.process.stdin.flush()
                self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
        self.process = None

    def __enter__(self) -> "AlphaLiftClient":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _died(self) -> AlphaLiftClientError:
        tail = ""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            tail = lines[-1] if lines else ""
        except OSError:
            pass
        self.process = None
        return AlphaLiftClientError(f"AlphaLift's worker stopped unexpectedly ({tail or 'no message'}). "
                                    f"Its log is {self.log_path}.", "worker-died")

    def _request(self, message: Dict, on_progress: Optional[Callable[[float, str], None]] = None) -> Dict:
        """Send one request and read replies until its final answer."""
        process = self.process
        if process is None or process.poll() is not None:
            raise self._died()
        self._next_id += 1
        message = dict(message, id=self._next_id)
        self._current = self._next_id
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
            while True:
                line = process.stdout.readline()
                if not line:
                    raise self._died()
                reply = json.loads(line)
                if reply.get("id") != message["id"]:
                    continue  # a late reply to an earlier, cancelled request
                if reply.get("event") == "progress":
                    if on_progress is not None:
                        on_progress(float(reply.get("fraction", 0.0)), str(reply.get("stage", "")))
                    continue
                if not reply.get("ok"):
                    error = reply.get("error") or {}
                    raise AlphaLiftClientError(error.get("message", "unknown error"),
                                               error.get("code", "error"))
                return reply
        except (OSError, ValueError):
            raise self._died() from None
        finally:
            self._current = None

    def _call(self, message: Dict, on_progress=None) -> Dict:
        """A request, restarting a dead worker once."""
        with self._lock:
            for attempt in (1, 2):
                self.start()
                try:
                    return self._request(message, on_progress)
                except AlphaLiftClientError as exc:
                    if exc.code != "worker-died" or attempt == 2:
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
            except OSError:
                pass

    def list_models(self) -> List[Dict]:
        """The catalogue as the worker sees it: name, licence, size, cached, default, description."""
        self.models = self._call({"op": "hello", "protocol": PROTOCOL}).get("models", [])
        return list(self.models)

    def download(self, model: Optional[str] = None) -> str:
        return self._call({"op": "download", "model": model})["path"]

    def remove_file(self, source: str, save: Dict[str, str], model: Optional[str] = None,
                    refine: bool = True,
                    on_progress: Optional[Callable[[float, str], None]] = None) -> Dict[str, str]:
        """Cut out an image file; the worker writes PNGs (keys mask, foreground, rgba -> paths)."""
        reply = self._call({"op": "remove", "image": {"file": source}, "options": {
            "model": model, "refine": refine, "foreground": False, "save": save}}, on_progress)
        return reply["saved"]

    def remove(self, pixels: bytes, width: int, height: int, pixel_format: str = "RGBA8",
               model: Optional[str] = None, refine: bool = True, foreground: bool = True,
               alpha_format: str = "L8", linear: bool = False, limit: Optional[bytes] = None,
               on_progress: Optional[Callable[[float, str], None]] = None) -> Result:
        """Cut out raw pixels (row-major, no padding); returns the matte (and colours).

        ``linear``: float pixels are linear light (as in Krita's float colour spaces).
        ``limit``: an 8-bit selection (one byte a pixel); outside it the returned alpha stays opaque."""
        folder = Path(tempfile.mkdtemp(prefix="alphalift-"))  # mode 0700
        try:
            source = folder / "input.raw"
            source.write_bytes(pixels)
            options = {"model": model, "refine": refine, "foreground": foreground,
                       "alpha_format": alpha_format}
            if limit is not None:
                (folder / "limit.raw").write_bytes(limit)
                options["limit"] = str(folder / "limit.raw")
            reply = self._call({"op": "remove", "image": {
                "path": str(source), "width": width, "height": height, "format": pixel_format,
                "linear": linear}, "options": options}, on_progress)
            alpha = Path(reply["alpha"]["path"]).read_bytes()
            colours = Path(reply["foreground"]["path"]).read_bytes() if "foreground" in reply else None
            return Result(reply["width"], reply["height"], alpha, reply["alpha"]["format"], colours)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
