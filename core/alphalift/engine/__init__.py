"""Inference backends: a model file in, a callable from input tensor to output tensor out.

ONNX Runtime is always there; OpenVINO is used instead when installed (`pip install
alphalift[openvino]`), on CPUs only, and only for models whose outputs were tested to agree.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import env_choice, env_number
from ..models.catalog import ModelSpec

BACKENDS = ("auto", "onnxruntime", "openvino")


class Backend(Protocol):
    name: str
    device: str  # "cpu" or "gpu": decides which model file the store hands over
    parallel: int  # how many threads may call run() at once

    def run(self, batch: np.ndarray) -> np.ndarray:
        """NCHW float32 in, the model's first output out."""


def thread_count(requested: int | None = None) -> int | None:
    """Threads for inference: the argument, else ALPHALIFT_THREADS, else the backend's choice."""
    if requested:
        return requested
    return env_number("ALPHALIFT_THREADS", int, None, minimum=1)


def backend_setting(requested: str | None = "auto") -> str:
    """The backend asked for: a named one as given, else ALPHALIFT_BACKEND, else "auto".
    A bad variable raises ConfigError naming it (callers check it before any work starts)."""
    if requested and requested != "auto":
        return requested
    return env_choice("ALPHALIFT_BACKEND", BACKENDS, "auto")


def preferred_backend_name(spec: ModelSpec, requested: str = "auto") -> str:
    """"openvino" where it is installed, allowed for this model and no GPU provider is wanted."""
    requested = backend_setting(requested)
    if requested != "auto":
        return requested
    from .onnxruntime import gpu_providers_available

    if spec.openvino and not gpu_providers_available():
        try:
            import openvino  # noqa: F401
            return "openvino"
        except ImportError:
            pass
    return "onnxruntime"


def create_backend(name: str, model_path_for: Callable[[str], Path], threads: int | None,
                   compiled_cache: Path | None = None, streams: int = 1) -> Backend:
    """Build a backend; ``model_path_for(device)`` asks the store for the file to load,
    ``compiled_cache`` is where a backend that compiles the model may keep the result, and
    ``streams`` how many passes its callers would like to run at once (a wish: the backend's
    ``parallel`` says what it allows)."""
    if name == "openvino":
        from .openvino import OpenVinoBackend

        return OpenVinoBackend(model_path_for("cpu"), threads, compiled_cache, streams)
    if name == "onnxruntime":
        from .onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend.create(model_path_for, threads)
    raise ValueError(f"unknown backend {name!r} (use auto, onnxruntime or openvino)")
