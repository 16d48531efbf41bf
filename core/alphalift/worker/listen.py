"""`alphalift serve --socket PATH`: one worker shared by many short-lived clients.

GIMP starts a plug-in process per call, so a worker that dies with its client reloads Python and
the model on every click. This one listens on a Unix socket instead and outlives its clients: one
Remover (the model and its per-image cache) serves every connection, each connection speaks the
stdio protocol, and jobs run one at a time across connections (both are answered, in turn).

Only this user may reach it: the socket lies in a folder that must be the user's own and closed to
everyone else (0700), and is itself 0600. A lock file beside the socket says a worker is alive: a
second worker started meanwhile leaves, and a socket file whose worker died (nobody holds the lock)
is replaced. After ``idle_exit`` seconds with no connection the worker removes its socket and ends.
A worker whose code was replaced (AlphaLift reinstalled or upgraded) hands the socket on at the
next connection: it closes that connection, removes its socket and lets its lock go, so the
client starts a fresh worker, and it ends once its open connections do.
"""
from __future__ import annotations

import logging
import os
import socket
import stat
import sys
import threading
import time
from pathlib import Path

from ..config import env_choice
from ..errors import AlphaLiftError
from ..pipeline import Remover
from .server import PAUSE_STAGES, Worker, serve_stream

log = logging.getLogger(__name__)

BACKLOG = 16
POLL_SECONDS = 0.2  # how often the accept loop looks at the idle time


class SocketPathError(AlphaLiftError):
    """The socket's folder or path is not safe, or not usable, for a private worker."""

    code = "unsafe-socket-folder"


def private_folder(folder: Path) -> None:
    """Make ``folder`` (mode 0700) if it is missing; refuse it unless it is a real folder owned by
    this user and closed to everyone else, so no other user can reach the worker or replace its
    socket."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SocketPathError(f"cannot make the socket folder {folder}: {exc.strerror}.",
                              "Choose a socket path in a folder you own.") from None
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise SocketPathError(f"the socket folder {folder} is not private (it must be a folder you own "
                              f"with mode 0700; it is {stat.filemode(info.st_mode)}, owner {info.st_uid}).",
                              "Remove it (AlphaLift makes it again) or choose another socket path.")


def take_lock(path: Path) -> int | None:
    """Hold the lock beside ``path`` for this process's life; None when another worker holds it."""
    import fcntl  # POSIX only, as the socket

    handle = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return None
    return handle


def bind(path: Path) -> socket.socket:
    """The listening socket at ``path`` (0600), replacing a dead worker's socket file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(info.st_mode):
            raise SocketPathError(f"{path} exists and is not a socket.",
                                  "Remove it or choose another socket path.")
        os.unlink(path)  # we hold the lock: its worker is gone
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)  # born 0600, never briefly open to others
    try:
        listener.bind(str(path))
    except OSError as exc:
        listener.close()
        raise SocketPathError(f"cannot listen on {path}: {exc.strerror}.",
                              "Choose a shorter socket path in a folder you own.") from None
    finally:
        os.umask(mask)
    os.chmod(path, 0o600)
    listener.listen(BACKLOG)
    return listener


def loaded_code() -> list[str]:
    """The files of the AlphaLift modules loaded now (the worker's own, at its start)."""
    root = Path(__file__).resolve().parents[1]
    names = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
    return sorted(name for name in names if name and Path(name).resolve().is_relative_to(root))


def code_signature(files: list[str]) -> list[tuple]:
    """Each file's identity (inode, mtime, size): a reinstall changes it."""
    found: list[tuple] = []
    for name in files:
        try:
            info = os.stat(name)
        except OSError:
            found.append((name,))
            continue
        found.append((name, info.st_ino, info.st_mtime_ns, info.st_size))
    return found


class Listener:
    """Accepts connections and serves each on its own thread; all share one Remover and one job
    lock. Counts open connections, so the loop can tell when it has been idle long enough."""

    def __init__(self, listener: socket.socket, idle_exit: float) -> None:
        self.listener, self.idle_exit = listener, idle_exit
        self.remover = Remover()
        self.job_lock = threading.Lock()
        self.pause_at = env_choice("ALPHALIFT_TEST_PAUSE_AT", PAUSE_STAGES, "")
        self.count_lock = threading.Lock()
        self.open = 0
        self.quiet_since = time.monotonic()
        self.files = loaded_code()
        self.code = code_signature(self.files)

    def run(self) -> bool:
        """Serve until idle (True) or until this code is found replaced (False)."""
        self.listener.settimeout(min(POLL_SECONDS, self.idle_exit))
        while True:
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                with self.count_lock:
                    if self.open == 0 and time.monotonic() - self.quiet_since >= self.idle_exit:
                        return True
                continue
            if code_signature(self.files) != self.code:
                log.warning("AlphaLift was reinstalled: leaving the socket to a fresh worker")
                connection.close()  # its client finds no worker answering and starts one
                return False
            with self.count_lock:
                self.open += 1
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def drain(self) -> None:
        """Wait for the open connections to end."""
        while True:
            with self.count_lock:
                if self.open == 0:
                    return
            time.sleep(POLL_SECONDS)

    def serve(self, connection: socket.socket) -> None:
        connection.settimeout(None)
        try:
            with connection, connection.makefile("rb") as lines, \
                    connection.makefile("w", encoding="utf-8", newline="\n") as out:
                worker = Worker(out, self.remover, self.pause_at, self.job_lock)
                serve_stream(worker, lines)
        except OSError as exc:  # the client went away mid-line: nobody to answer
            log.info("connection ended: %s", exc)
        except Exception:  # a bug in one connection must not stop the others
            log.exception("connection failed")
        finally:
            with self.count_lock:
                self.open -= 1
                self.quiet_since = time.monotonic()


def serve_socket(path: Path, idle_exit: float) -> int:
    if os.name != "posix" or not hasattr(socket, "AF_UNIX"):
        raise SocketPathError("serve --socket needs Unix sockets, which this system lacks.",
                              "Use serve --stdio (one worker a client).")
    path = Path(os.path.abspath(path))
    sys.stdout = sys.stderr  # stdout is the log: nothing may mistake it for the protocol
    private_folder(path.parent)
    lock = take_lock(path)
    if lock is None:
        print(f"alphalift: note: a worker already serves {path}; leaving it to answer.", file=sys.stderr)
        return 0
    listener = bind(path)
    log.info("serving %s (pid %d), exiting after %g s idle", path, os.getpid(), idle_exit)
    server = Listener(listener, idle_exit)
    try:
        idle = server.run()
    finally:
        os.unlink(path)  # before the lock goes: a new worker's socket is never removed
        listener.close()
    if not idle:
        os.close(lock)  # a fresh worker may take the socket now
        server.drain()
    return 0
