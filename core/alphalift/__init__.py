"""AlphaLift: local AI background removal with real alpha matting.

    >>> import alphalift
    >>> cutout = alphalift.remove_background("photo.jpg")
    >>> cutout.to_image("rgba").save("cutout.png")
"""
from .engine.openvino import keep_telemetry_off

keep_telemetry_off()  # before anything imports openvino, in the CLI, the worker and the API alike

from .cutout import Cutout  # noqa: E402
from .errors import AlphaLiftError  # noqa: E402
from .pipeline import Remover, remove_background  # noqa: E402

__version__ = "0.1.0"
__all__ = ["AlphaLiftError", "Cutout", "Remover", "__version__", "remove_background"]
