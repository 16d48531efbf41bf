"""Video: temporally stable mattes for image sequences and movie files.

    temporal.py  the method (motion-compensated recursive filtering, cut detection), on arrays
    motion.py    optical flow (OpenCV DIS) and the trust in it
    sequence.py  SequenceRemover: the pipeline with the method between its stages
    sources.py   frames in: a folder in natural order, a movie through PyAV
    sinks.py     frames out: atomic PNGs (resumable), a movie with alpha (ProRes 4444, VP9)
    run.py       `alphalift remove --sequence` and movie inputs
OpenCV and PyAV come with the `video` extra (deps.py says so when they are missing).
"""
from .sequence import SequenceRemover
from .temporal import TemporalFilter, TemporalSettings

__all__ = ["SequenceRemover", "TemporalFilter", "TemporalSettings"]
