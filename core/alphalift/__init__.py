"""AlphaLift: local AI background removal with real alpha matting.

    >>> import alphalift
    >>> cutout = alphalift.remove_background("photo.jpg")
    >>> cutout.to_image("rgba").save("cutout.png")
"""
from .cutout import Cutout
from .errors import AlphaLiftError
from .pipeline import Remover, remove_background

__version__ = "0.1.0"
__all__ = ["AlphaLiftError", "Cutout", "Remover", "__version__", "remove_background"]
