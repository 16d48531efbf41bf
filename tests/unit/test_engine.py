"""Execution-provider choice and the fallback to the CPU, on the tiny real model."""
from __future__ import annotations

import logging

import numpy as np

from alphalift.engine import onnxruntime as ort_engine


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


def test_the_gpu_gets_the_original_file_and_the_cpu_the_conversion(tiny_model, monkeypatch):
    monkeypatch.setattr(ort_engine, "gpu_providers_available", lambda: [])
    devices = []
    ort_engine.OnnxRuntimeBackend.create(lambda device: devices.append(device) or tiny_model, None)
    assert devices == ["cpu"]


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
