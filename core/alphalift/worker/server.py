"""`alphalift serve --stdio`: a long-lived worker that keeps models loaded between requests.

The main thread reads and validates requests; one job thread runs cut-outs in order, so a
`cancel` can arrive while a cut-out runs; a heartbeat thread repeats the running job's progress,
so a client can tell a slow job from a frozen worker. Every error is a reply; the worker goes on.
`shutdown` lets the queued jobs finish; the end of stdin (the host quit or crashed) cancels them,
so a worker never outlives its client.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import sys
import threading
from typing import Any, BinaryIO, TextIO

from .. import __version__
from ..config import env_choice
from ..errors import AlphaLiftError
from ..fsutil import atomic_output
from ..imageio import load_image, save_png
from ..pipeline import Remover
from .paths import check_files, check_save_targets
from .pixels import decode_pixels, encode_alpha, encode_foreground, limit_to_selection, read_selection
from .protocol import HEARTBEAT_SECONDS, PROTOCOL
from .requests import (PROMPT_NAMES, Cancel, Download, FileImage, Hello, Remove, Request,
                       RequestError, RequestId, Shutdown, parse_line)
from .sessions import Sessions

log = logging.getLogger(__name__)

# A test-only hook: stop at a stage (after its progress event) until cancelled, so tests can kill
# or freeze the worker at a known point. "hello" stops before the hello reply, for good.
PAUSE_STAGES = ("hello", "load-model", "segment", "refine", "done")


class Worker:
    def __init__(self, out: TextIO, remover: Remover | None = None, pause_at: str = "",
                 job_lock: threading.Lock | None = None) -> None:
        self.out = out
        self.remover = remover or Remover()
        self.pause_at = pause_at
        self.job_lock = job_lock or threading.Lock()  # shared by a socket's connections: one job at a time
        self.write_lock = threading.Lock()
        self.state_lock = threading.Lock()  # taken before write_lock, never after
        self.jobs: queue.Queue = queue.Queue()
        self.cancels: dict[RequestId, threading.Event] = {}  # requests queued or running
        self.running: dict[str, Any] | None = None  # the running job's last progress event
        self.sessions = Sessions(self.remover)  # sequence sessions; the job thread's alone

    def send(self, message: dict[str, Any]) -> None:
        with self.write_lock:
            self.out.write(json.dumps(message) + "\n")
            self.out.flush()

    def error(self, request_id: RequestId, code: str, message: str) -> None:
        self.send(failure(request_id, code, message))

    def pause(self, stage: str, cancel: threading.Event) -> None:
        if stage == self.pause_at:
            log.warning("paused at %s (ALPHALIFT_TEST_PAUSE_AT)", stage)
            cancel.wait()

    # -- operations (each returns its final reply) --------------------------------------------
    def hello(self, request: Hello) -> dict[str, Any]:
        store = self.remover.store
        models = [{"name": s.name, "licence": s.licence, "size": s.size, "cached": store.is_cached(s),
                   "default": s.name == store.catalog.default, "description": s.description}
                  for s in store.catalog]
        default = store.catalog.get(None)
        defaults = {"model": default.name, "licence": default.licence, "licence_url": default.licence_url,
                    "description": default.description, "refine": True}
        return {"id": request.id, "ok": True, "protocol": PROTOCOL, "version": __version__,
                "pid": os.getpid(), "models": models, "defaults": defaults}

    def remove(self, request: Remove) -> dict[str, Any]:
        cancel = self.cancels[request.id]
        image, options = request.image, request.options
        sequence, prompt = options.sequence, options.prompt
        if not options.download:  # the host may not go online: a missing model is reported, not fetched
            self.remover.store.ensure(self.remover.store.catalog.get(options.model), download=False)
        if sequence is not None and isinstance(image, FileImage) and not options.save:
            session = self.sessions.get(sequence.id)
            if session is not None and session.holds(sequence.frame, options.model, options.refine, prompt):
                return {"id": request.id, "ok": True, "saved": {},  # a warm-up already done
                        "sequence": {"frame": sequence.frame, "continued": True, "cut": False}}
        source = load_image(image.file) if isinstance(image, FileImage) else decode_pixels(image)
        flip = not isinstance(image, FileImage) and image.flip
        # The prompt counts from the top-left of the image as seen; decode_pixels has already put a
        # flipped image's rows top-down, so its coordinates are the remover's as they stand.
        if prompt is not None:  # a file's size is known only now; before any model runs
            prompt.check(*source.size, PROMPT_NAMES)
        weight = (read_selection(options.limit, *source.size, flip=flip)
                  if options.limit is not None else None)

        def progress(fraction: float, stage: str) -> None:
            self.progress({"id": request.id, "event": "progress", "fraction": fraction, "stage": stage})
            self.pause(stage, cancel)

        want_foreground = options.foreground or bool(set(options.save) - {"mask"})
        if sequence is None:
            cutout = self.remover.remove(source, model=options.model, refine=options.refine,
                                         foreground=want_foreground, progress=progress, cancel=cancel,
                                         prompt=prompt)
        else:  # one frame of a shot (sessions.py)
            session, continued = self.sessions.begin(sequence, options.model, options.refine,
                                                     source.size)
            session.runner.foreground = want_foreground
            cutout = session.runner.cut(source, progress=progress, cancel=cancel, prompt=prompt)
            self.sessions.done(session, sequence, prompt)
        if weight is not None:
            cutout = dataclasses.replace(cutout, mask=limit_to_selection(cutout.mask, weight))
        reply: dict[str, Any] = {"id": request.id, "ok": True, "width": cutout.size[0],
                                 "height": cutout.size[1]}
        if sequence is not None:
            reply["sequence"] = {"frame": sequence.frame, "continued": continued, "cut": True}
        if options.save or isinstance(image, FileImage):  # a file image saves, or only warms up
            inputs = [image.file] if isinstance(image, FileImage) else [image.path]
            check_save_targets(options.save, inputs, options.overwrite)  # again: time has passed
            for kind, target in options.save.items():  # encoded files, for hosts that load by path
                save_png(cutout.to_image(kind), target, icc_profile=cutout.icc_profile)
            reply["saved"] = {kind: str(target) for kind, target in options.save.items()}
            return reply
        folder, stem = image.path.parent, image.path.stem  # the client's private folder
        alpha_path = folder / f"{stem}.alpha.raw"
        with atomic_output(alpha_path) as handle:
            handle.write(encode_alpha(cutout.mask, options.alpha_format, flip))
        reply["alpha"] = {"path": str(alpha_path), "format": options.alpha_format}
        if options.foreground:
            fg_path = folder / f"{stem}.foreground.raw"
            with atomic_output(fg_path) as handle:
                handle.write(encode_foreground(cutout.foreground, cutout.mask, options.foreground_format,
                                               options.foreground_alpha, flip))
            reply["foreground"] = {"path": str(fg_path), "format": options.foreground_format,
                                   "alpha": options.foreground_alpha}
        return reply

    def download(self, request: Download) -> dict[str, Any]:
        store = self.remover.store
        spec = store.catalog.get(request.model)
        path = store.runtime_path(spec)
        return {"id": request.id, "ok": True, "model": spec.name, "path": str(path)}

    # -- progress and heartbeat ---------------------------------------------------------------
    def progress(self, event: dict[str, Any]) -> None:
        with self.state_lock:
            self.running = event
            self.send(event)

    def heartbeat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with self.state_lock:
                if self.running is not None:
                    try:
                        self.send(dict(self.running, heartbeat=True))
                    except (OSError, ValueError):  # the client is gone; the main loop ends too
                        return

    # -- loop ---------------------------------------------------------------------------------
    def run_job(self, request: Remove | Download) -> None:
        stage = "download" if isinstance(request, Download) else "start"
        with self.state_lock:
            self.running = {"id": request.id, "event": "progress", "fraction": 0.0, "stage": stage}
        try:
            with self.job_lock:  # heartbeats go on ("start") while another connection's job runs
                reply = self.remove(request) if isinstance(request, Remove) else self.download(request)
        except AlphaLiftError as exc:
            reply = failure(request.id, exc.code, str(exc))
        except Exception as exc:  # a bug must not kill the worker; the host shows the message
            log.exception("request %s failed", request.id)
            reply = failure(request.id, "internal", f"{type(exc).__name__}: {exc}")
        with self.state_lock:  # no heartbeat may follow the final reply
            self.running = None
            self.cancels.pop(request.id, None)
            self.send(reply)

    def job_loop(self) -> None:
        while True:
            request = self.jobs.get()
            if request is None:
                return
            try:
                self.run_job(request)
            except (OSError, ValueError):  # stdout is gone: nobody to answer
                log.warning("could not send a reply; the client has gone")

    def handle_line(self, line: str | bytes) -> bool:
        """Validate and dispatch one request line; False when the worker should stop."""
        request: Request | None = None
        try:
            request = parse_line(line)
            return self.dispatch(request)
        except RequestError as exc:
            self.error(exc.request_id if request is None else request.id, exc.code, str(exc))
        except AlphaLiftError as exc:
            self.error(None if request is None else request.id, exc.code, str(exc))
        except Exception as exc:  # a bug must not kill the worker
            log.exception("request line failed: %.200s", line)
            self.error(None if request is None else request.id, "internal", f"{type(exc).__name__}: {exc}")
        return True

    def cancel_all(self) -> None:
        """Cancel every queued and running job: nobody is left to read their replies."""
        with self.state_lock:
            for event in self.cancels.values():
                event.set()

    def dispatch(self, request: Request) -> bool:
        if isinstance(request, Shutdown):
            return False
        if isinstance(request, Cancel):
            event = self.cancels.get(request.id)  # queued or running; else already done
            if event is not None:
                event.set()
        elif isinstance(request, Hello):
            if request.protocol != PROTOCOL:
                raise RequestError("protocol", f"worker speaks protocol {PROTOCOL}; update the "
                                               "plug-in and the core together", request.id)
            if self.pause_at == "hello":
                self.pause("hello", threading.Event())
            self.send(self.hello(request))
        else:
            if request.id in self.cancels:
                raise RequestError("duplicate-id", f"request id {request.id!r} is already queued or "
                                                   "running; give each request its own id.", request.id)
            if isinstance(request, Remove):
                check_files(request)
            self.cancels[request.id] = threading.Event()
            self.jobs.put(request)
        return True


def failure(request_id: RequestId, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


def serve_stdio(stdin: BinaryIO | TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin.buffer  # bytes: a line that is not UTF-8 is one bad request
    out = stdout or sys.stdout
    # Anything else printing to stdout (a library's warning) would corrupt the protocol.
    sys.stdout = sys.stderr
    serve_stream(Worker(out, pause_at=env_choice("ALPHALIFT_TEST_PAUSE_AT", PAUSE_STAGES, "")), stdin)
    return 0


def serve_stream(worker: Worker, stdin: BinaryIO | TextIO) -> None:
    """Answer one client's requests until shutdown (queued jobs finish) or the end of its input
    (its jobs are cancelled); stdin for --stdio, one connection for --socket (listen.py)."""
    stop = threading.Event()
    jobs = threading.Thread(target=worker.job_loop, daemon=True)
    heartbeat = threading.Thread(target=worker.heartbeat_loop, args=(stop,), daemon=True)
    jobs.start()
    heartbeat.start()
    try:
        for line in stdin:
            if line.strip() and not worker.handle_line(line):
                break  # shutdown: the queued jobs still run
        else:
            worker.cancel_all()  # stdin's end: the client has gone (its host quit or crashed)
    finally:
        worker.jobs.put(None)
        jobs.join()
        stop.set()
