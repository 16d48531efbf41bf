"""Execution-provider choice and the fallback to the CPU, on the tiny real model."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from alphalift.engine import onnxruntime as ort_engine
from alphalift.errors import ModelMissingError
from alphalift.fsutil import file_digest


def test_a_provider_that_fails_to_start_falls_back_to_the_cpu(tiny_model, monkeypatch, caplog):
    monkeypatch.setattr(ort_engine, "gpu_providers_available", lambda: ["CUDAExecutionProvider"])
    real_session = ort_engine._session
    asked = []

    def session(path, providers, threads):
        asked.append(providers[0])
        if providers[0] == "CUDAExecutionProvider":
            raise RuntimeError("libcudart.so.12: cannot open shared object file")
        return real_session(path, providers, threads)

    monkeypatch.setattr(ort_engine, "_session", session)
    with caplog.at_level(logging.WARNING):
        backend = ort_engine.OnnxRuntimeBackend.create(lambda device: tiny_model, threads=1)
    assert asked == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert backend.device == "cpu" and backend.providers == ["CPUExecutionProvider"]
    assert "CUDAExecutionProvider failed to start" in caplog.text
    out = backend.run(np.zeros((1, 3, 8, 8), np.float32))
    assert out.shape == (1, 1, 8, 8) and np.allclose(out, 0.5)


class StartedOn:
    """A real CPU session that says it runs on ``provider``: what ONNX Runtime reports when a GPU
    provider did start (no GPU is needed to follow that branch)."""

    def __init__(self, session, provider: str) -> None:
        self.session, self.provider = session, provider

    def get_providers(self) -> list[str]:
        return [self.provider, "CPUExecutionProvider"]

    def __getattr__(self, name: str):
        return getattr(self.session, name)


def test_the_gpu_gets_the_original_file_and_the_cpu_the_conversion(tmp_path, monkeypatch):
    from alphalift.models.catalog import Catalog, spec_from_dict
    from alphalift.models.store import ModelStore

    from .model_fixtures import build_half_model

    source = build_half_model(tmp_path / "half.onnx")
    spec = spec_from_dict("half", {
        "family": "isnet", "input_size": [8, 8], "mean": [0.5] * 3, "std": [1.0] * 3,
        "output": "probability", "licence": "test", "sha256": file_digest(source), "fp32": "cpu"})
    store = ModelStore(tmp_path / "models", Catalog({"half": spec}, "half", tmp_path / "c.json"))
    store.import_file(source, "half")
    loaded = []
    real_session = ort_engine._session

    def session(path, providers, threads):
        loaded.append((Path(path).name, providers[0]))
        return StartedOn(real_session(path, ["CPUExecutionProvider"], threads), providers[0])

    monkeypatch.setattr(ort_engine, "_session", session)
    monkeypatch.setattr(ort_engine, "preload_provider_libraries", lambda provider: None)
    monkeypatch.setattr(ort_engine, "gpu_providers_available", lambda: ["CUDAExecutionProvider"])
    gpu = ort_engine.OnnxRuntimeBackend.create(lambda device: store.runtime_path(spec, device), 1)
    assert loaded == [("half.onnx", "CUDAExecutionProvider")] and gpu.device == "gpu"
    assert not store.fp32_path(spec).exists(), "no CPU conversion is made for a GPU"
    assert np.allclose(gpu.run(np.zeros((1, 3, 8, 8), np.float32)), 0.5, atol=1e-3)
    monkeypatch.setattr(ort_engine, "gpu_providers_available", lambda: [])
    cpu = ort_engine.OnnxRuntimeBackend.create(lambda device: store.runtime_path(spec, device), 1)
    assert loaded[-1] == ("half.fp32.onnx", "CPUExecutionProvider") and cpu.device == "cpu"


def test_a_store_error_is_not_mistaken_for_a_provider_failure(monkeypatch):
    """The model missing (offline) is the user's to hear, not a reason to try the CPU."""
    monkeypatch.setattr(ort_engine, "gpu_providers_available", lambda: ["CUDAExecutionProvider"])

    def missing(device):
        raise ModelMissingError("Model 'm' is not downloaded.", "Run `alphalift models download m`.")

    with pytest.raises(ModelMissingError):
        ort_engine.OnnxRuntimeBackend.create(missing, 1)


def test_a_provider_that_starts_on_the_cpu_instead_is_reported(tiny_model, monkeypatch, caplog):
    """ONNX Runtime itself falls back silently when the CUDA libraries are missing."""
    monkeypatch.setattr(ort_engine, "gpu_providers_available", lambda: ["CUDAExecutionProvider"])
    preloaded = []
    monkeypatch.setattr(ort_engine, "preload_provider_libraries", preloaded.append)
    real_session = ort_engine._session
    monkeypatch.setattr(ort_engine, "_session",
                        lambda path, providers, threads: real_session(path, providers[-1:], threads))
    with caplog.at_level(logging.WARNING):
        backend = ort_engine.OnnxRuntimeBackend.create(lambda device: tiny_model, threads=1)
    assert preloaded == ["CUDAExecutionProvider"]
    assert backend.device == "cpu"
    assert "CUDAExecutionProvider is installed but did not start" in caplog.text


def test_preloading_cuda_libraries_keeps_stdout_clean(monkeypatch, capsys, caplog):
    """onnxruntime.preload_dlls prints what it cannot find; stdout may be a PNG or the worker's protocol."""
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "preload_dlls", lambda: print("Failed to load libcudnn.so.9"), raising=False)
    with caplog.at_level(logging.DEBUG, logger="alphalift.engine.onnxruntime"):
        ort_engine.preload_provider_libraries("CUDAExecutionProvider")
    assert capsys.readouterr().out == ""
    assert "Failed to load libcudnn.so.9" in caplog.text
