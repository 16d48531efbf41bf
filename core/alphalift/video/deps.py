"""The video extra's libraries, imported on first use, with one line saying how to get them.

OpenCV (its DIS optical flow and remapping) and PyAV (FFmpeg's decoders and encoders) are large,
so they are an extra: `pip install "alphalift[video]"`. Stills never import them.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import AlphaLiftError


class VideoSupportMissing(AlphaLiftError):
    code = "video-support-missing"


def _extra(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise VideoSupportMissing(
            f"{what} needs the {module!r} module, which is not installed.",
            "Install AlphaLift's video extra: pip install \"alphalift[video]\".") from None


def cv2_module() -> ModuleType:
    return _extra("cv2", "Temporal smoothing (optical flow)")


def av_module() -> ModuleType:
    return _extra("av", "Reading and writing movie files")
