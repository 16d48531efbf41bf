"""OpenVINO backend (optional extra): compiles the same ONNX file; ~1.6x faster on x86 CPUs."""
from __future__ import annotations

import logging
import queue
import sys
from pathlib import Path

import numpy as np

from ..errors import EngineError

log = logging.getLogger(__name__)

TELEMETRY_MODULE = "openvino_telemetry"


def keep_telemetry_off() -> None:
    """Stop `import openvino` from reporting usage: AlphaLift runs offline.

    pip's openvino imports its model converter, which, when the openvino-telemetry package is
    installed, writes a client id under ~/intel and forks a child to post an event to an analytics
    service. The converter falls back to its own no-op stub when that package cannot be imported,
    so it is marked unimportable for this process before anything imports openvino (no opt-out
    file in the user's home, no environment variable leaking into child processes). A process
    that imported it already is left alone.
    """
    sys.modules.setdefault(TELEMETRY_MODULE, None)  # type: ignore[arg-type]


class OpenVinoBackend:
    """``streams`` > 1: OpenVINO's throughput mode, that many passes at once (one infer request
    each, the cores split between them), for callers with several images in flight. A pass on
    fewer threads is slower alone, but two of them keep every core busy where one pass's threads
    wait on each other; the numbers are the same (tests/integration/test_real_model.py)."""

    name = "openvino"
    device = "cpu"

    def __init__(self, path: Path, threads: int | None, cache_dir: Path | None = None,
                 streams: int = 1) -> None:
        streams = max(1, min(streams, threads or streams))
        try:
            import openvino as ov

            core = ov.Core()
            # OpenVINO's own precision choice: bf16 on CPUs with AMX/AVX512-BF16, where it is 2x
            # faster; tests/integration checks that the mask still agrees with ONNX Runtime.
            config = {"PERFORMANCE_HINT": "LATENCY"} if streams == 1 else \
                {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": str(streams)}
            if threads:
                config["INFERENCE_NUM_THREADS"] = str(threads)
                # A share of the machine: OpenVINO would pin its threads to the first cores, the
                # same ones in every process (two 1-thread Ray actors on one core, half speed).
                config["ENABLE_CPU_PINNING"] = "NO"
            self.compiled = _compile(core, path, config, cache_dir)
        except Exception as exc:
            raise EngineError(f"OpenVINO could not compile the model: {exc}",
                              "Set ALPHALIFT_BACKEND=onnxruntime to use ONNX Runtime.") from exc
        self.parallel = streams
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(streams):
            self._requests.put(self.compiled.create_infer_request())
        self.output = self.compiled.outputs[0]
        self.providers = ["OpenVINO CPU"]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Safe from ``parallel`` threads at once (each takes its own infer request)."""
        request = self._requests.get()
        try:
            result = request.infer({0: batch})
            # the request's output tensor is reused by its next pass: keep a copy of our own
            return np.array(result[self.output], copy=True)
        finally:
            self._requests.put(request)


def _compile(core, path: Path, config: dict, cache_dir: Path | None):
    """Compile once, then load OpenVINO's cached compilation (1.4 -> 0.4 s a process start: GIMP
    starts the worker for every click). OpenVINO trusts its cached blobs blindly, so only blobs
    recorded intact for this very model file are left for it to load (models/compiled.py). A cache
    that cannot be used only costs the compile."""
    if cache_dir is not None:
        from ..models.compiled import CompiledCache

        try:
            with CompiledCache(cache_dir).compiling(path):
                return core.compile_model(str(path), "CPU", {**config, "CACHE_DIR": str(cache_dir)})
        except Exception as exc:
            log.warning("OpenVINO's compiled-model cache in %s did not work (%s); compiling without it",
                        cache_dir, exc)
    return core.compile_model(core.read_model(str(path)), "CPU", config)
