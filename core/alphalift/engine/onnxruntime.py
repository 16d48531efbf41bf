"""ONNX Runtime backend with automatic execution-provider choice and a clean CPU fallback."""
from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import EngineError

log = logging.getLogger(__name__)

# Most capable first; CPU is always last and always there.
PROVIDER_PREFERENCE = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
)


def gpu_providers_available() -> list[str]:
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    return [p for p in PROVIDER_PREFERENCE if p in available]


def preload_provider_libraries(provider: str) -> None:
    """Let pip's onnxruntime-gpu find CUDA and cuDNN in the nvidia-* wheels (or PyTorch's copy).

    Without this the CUDA provider cannot load them unless they are on the loader's path, and ONNX
    Runtime then runs on the CPU with only a log line to say so.
    """
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)  # ONNX Runtime 1.21 and later
    if provider != "CUDAExecutionProvider" or preload is None:
        return
    said = io.StringIO()  # it prints, and stdout may be carrying a PNG or the worker's protocol
    try:
        with contextlib.redirect_stdout(said):
            preload()
    except Exception as exc:  # the provider's own start below reports what is missing
        log.debug("preloading CUDA libraries failed: %s", exc)
    if said.getvalue().strip():
        log.debug("onnxruntime.preload_dlls: %s", said.getvalue().strip())


def _session(path: Path, providers: list[str], threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=providers)


class OnnxRuntimeBackend:
    name = "onnxruntime"
    parallel = 1  # one pass at a time: each already uses every core of the session's pool

    def __init__(self, session, device: str) -> None:
        self.session = session
        self.device = device
        self.input_name = session.get_inputs()[0].name
        self.output_name = session.get_outputs()[0].name
        self.providers = session.get_providers()

    @classmethod
    def create(cls, model_path_for: Callable[[str], Path], threads: int | None) -> "OnnxRuntimeBackend":
        """Try each available accelerator on the file the store hands over for it (the original,
        not the CPU conversion), then fall back to the CPU with a warning. The store's own errors
        (model missing, damaged and not fetchable, disk full) reach the user as they are."""
        for provider in gpu_providers_available():
            path = model_path_for("gpu")
            try:
                preload_provider_libraries(provider)
                session = _session(path, [provider, "CPUExecutionProvider"], threads)
                if session.get_providers()[0] == provider:
                    return cls(session, "gpu")
                log.warning("%s is installed but did not start (are its CUDA/cuDNN libraries "
                            "installed?); falling back", provider)
            except Exception as exc:  # a provider's DLLs/drivers can fail in many ways
                log.warning("%s failed to start (%s); falling back", provider, exc)
        path = model_path_for("cpu")
        try:
            return cls(_session(path, ["CPUExecutionProvider"], threads), "cpu")
        except Exception as exc:
            raise EngineError(f"ONNX Runtime could not load the model: {exc}",
                              "Run `alphalift models verify`; re-download the model if needed.") from exc

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: batch})[0]
