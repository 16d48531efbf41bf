"""One AlphaLift session per Krita process: the worker client, the running job, its signals.

The docker and the Tools > Scripts actions share it. The worker stays up between requests, so the
model loads once; cut-outs run on a Python thread and report back through queued Qt signals, so
Krita's GUI never waits.
"""
import threading
from typing import Any, List, Optional

from PyQt5.QtCore import QObject, pyqtSignal

from .alphalift_client import AlphaLiftClient, AlphaLiftClientError, make_prompt
from .layer_formats import Refusal
from .matte_actions import CUTOUT, REMOVE, MatteRequest, apply, prepare, prepare_refine, target_layer
from .prompt_sources import add_points_layer, same_document
from .settings import Options


class Session(QObject):
    busy = pyqtSignal(bool)
    progress = pyqtSignal(float, str)  # fraction, stage; a negative fraction: busy, no estimate
    message = pyqtSignal(str, bool)  # text, is_error
    models = pyqtSignal(list)
    _finished = pyqtSignal(object, object, object)  # request, result, error text

    def __init__(self, krita: Any, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.krita = krita
        self.client = AlphaLiftClient()
        self.options = Options()
        self.running = False
        self.last_message = ("", False)
        self.last: Optional[MatteRequest] = None  # the last run that landed, for Refine with points
        self.target: Any = None  # (document, layer) points are drawn for
        self._finished.connect(self._on_finished)
        self.message.connect(lambda text, error: setattr(self, "last_message", (text, error)))

    # -- starting work ---------------------------------------------------------------------
    def run(self, action: str) -> bool:
        """Start an action on the active document; False (with a message) if it cannot start."""
        if self.running:
            self.message.emit("AlphaLift is still working on the last request.", True)
            return False
        if action == REMOVE and self.options.decontaminate:
            action = CUTOUT
        document = self.krita.activeDocument()
        try:
            request = prepare(document, action, self._remembered(document))
        except Refusal as refusal:
            self.message.emit(str(refusal), True)
            return False
        self.target = (document, request.node)
        self._start(lambda: self._remove(request), "Finding the subject\u2026")
        return True

    def refine(self) -> bool:
        """Re-run the last action on its layer with the points drawn now; the worker still holds
        the model's output for those pixels and box, so only the points' work is paid."""
        if self.running:
            self.message.emit("AlphaLift is still working on the last request.", True)
            return False
        try:
            request = prepare_refine(self.last, self.krita.activeDocument())
        except Refusal as refusal:
            self.message.emit(str(refusal), True)
            return False
        self._start(lambda: self._remove(request), "Refining with the points\u2026")
        return True

    def add_points(self, name: str) -> None:
        """Make (or pick) a points layer to draw on, remembering which layer the points are for."""
        document = self.krita.activeDocument()
        if document is None:
            self.message.emit("Open an image first.", True)
            return
        try:
            self.target = (document, target_layer(document, self._remembered(document)))
        except Refusal:
            pass  # points can be drawn before the layer is picked
        add_points_layer(document, name)
        self.message.emit(f"Draw small shapes (e.g. with the Ellipse tool) on \u201c{name}\u201d: "
                          "each one's centre is a point. Then Refine with points, or run an action.", False)

    def _remembered(self, document: Any) -> Any:
        if self.target is not None and same_document(self.target[0], document):
            return self.target[1]
        return None

    def refresh_models(self) -> None:
        threading.Thread(target=self._list_models, daemon=True).start()

    def download(self, model: str) -> None:
        if not self.running:
            self._start(lambda: self._download(model), f"Downloading {model or 'the default model'}\u2026")

    def cancel(self) -> None:
        if self.running:
            self.client.cancel()
            self.message.emit("Cancelling\u2026", False)

    def shutdown(self) -> None:
        self.client.close()

    # -- on the worker thread ----------------------------------------------------------------
    def _start(self, work, text: str) -> None:
        self.running = True
        self.busy.emit(True)
        self.message.emit(text, False)
        threading.Thread(target=work, daemon=True).start()

    def _remove(self, request: MatteRequest) -> None:
        try:
            result = self.client.remove(
                request.pixels, request.width, request.height, request.pixel_format,
                model=self.options.model or None, refine=self.options.refine,
                foreground=request.action == CUTOUT, linear=request.linear, limit=request.limit,
                foreground_format="BGRA8",  # Krita's U8 pixel order, made by the worker
                prompt=make_prompt(request.box, request.include, request.exclude),
                on_progress=lambda fraction, stage: self.progress.emit(fraction, stage))
            self._finished.emit(request, result, None)
        except AlphaLiftClientError as exc:
            self._finished.emit(request, None, "Cancelled; nothing changed." if exc.code == "cancelled"
                                else str(exc))
        except Exception as exc:  # never a modal traceback: the docker shows it
            self._finished.emit(request, None, f"Unexpected error: {exc!r}")

    def _download(self, model: str) -> None:
        self.progress.emit(-1.0, "download")  # no byte counts over the protocol: a busy bar
        try:
            self.client.download(model or None)
            self._finished.emit(None, None, None)
        except Exception as exc:
            self._finished.emit(None, None, str(exc))
        self._list_models()

    def _list_models(self) -> None:
        try:
            found: List[dict] = self.client.list_models()
        except AlphaLiftClientError as exc:
            self.message.emit(str(exc), True)
            return
        self.models.emit(found)

    # -- back on the GUI thread ---------------------------------------------------------------
    def _on_finished(self, request: Optional[MatteRequest], result, error: Optional[str]) -> None:
        self.running = False
        try:
            if error is not None:
                self.message.emit(error, True)
            elif request is None:
                self.message.emit("Model ready.", False)
            else:
                summary = apply(request, result.alpha, result.foreground, self.krita_selection,
                                lambda name: self.krita.action(name).trigger())
                self.last = request
                self.message.emit(summary, False)
        except Refusal as refusal:
            self.message.emit(str(refusal), True)
        except Exception as exc:
            self.message.emit(f"Could not write the result: {exc!r}", True)
        finally:
            self.busy.emit(False)

    @staticmethod
    def krita_selection():
        from krita import Selection

        return Selection()


_session: Optional[Session] = None


def current_session() -> Session:
    """The one session of this Krita process, created on first use (the docker and the actions share it)."""
    global _session
    if _session is None:
        from krita import Krita

        from . import settings

        krita = Krita.instance()
        _session = Session(krita)
        _session.options = settings.load(krita)
    return _session
