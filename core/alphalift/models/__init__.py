"""Model catalogue and cache."""
from .catalog import Catalog, ModelSpec, Source
from .store import ModelStore, alphalift_home

__all__ = ["Catalog", "ModelSpec", "ModelStore", "Source", "alphalift_home"]
