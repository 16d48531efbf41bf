"""The model catalogue: what each model is, how to feed it, where to get it, under which licence."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import UnknownModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FAMILIES = ("u2net", "isnet", "birefnet")
OUTPUT_KINDS = ("probability", "minmax", "logits")
SOURCE_KINDS = ("http", "chunked", "npm")


@dataclass(frozen=True)
class Source:
    """One place a model file can come from; see catalog.toml for the kinds."""

    kind: str
    url: str = ""
    package: str = ""
    key: str = ""

    def describe(self) -> str:
        if self.kind == "npm":
            return f"npm package {self.package} ({self.key})"
        return self.url


@dataclass(frozen=True)
class ModelSpec:
    """Everything the store and the engine need to know about one model."""

    name: str
    family: str
    description: str
    input_size: tuple[int, int]
    scale: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output: str
    licence: str
    sha256: str
    licence_url: str = ""
    size: int | None = None
    md5: str = ""
    fp32: str = ""
    openvino: bool = False
    sources: tuple[Source, ...] = field(default_factory=tuple)
    custom: bool = False

    @property
    def file_name(self) -> str:
        return f"{self.name}.onnx"

    def to_dict(self) -> dict[str, Any]:
        """The form custom models are stored in (and shown by `models list --json`)."""
        data = {k: v for k, v in self.__dict__.items() if k not in ("sources", "custom")}
        data["input_size"] = list(self.input_size)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        data["sources"] = [s.__dict__ for s in self.sources]
        return data


def spec_from_dict(name: str, data: dict[str, Any], custom: bool = False) -> ModelSpec:
    """Build and validate a ModelSpec; a malformed entry is a bug, so it fails loudly."""
    family = data["family"]
    if family not in FAMILIES:
        raise ValueError(f"model {name}: unknown family {family!r} (known: {', '.join(FAMILIES)})")
    if data["output"] not in OUTPUT_KINDS:
        raise ValueError(f"model {name}: unknown output kind {data['output']!r}")
    sources = tuple(Source(**s) for s in data.get("sources", ()))
    for source in sources:
        if source.kind not in SOURCE_KINDS:
            raise ValueError(f"model {name}: unknown source kind {source.kind!r}")
    width, height = data["input_size"]
    return ModelSpec(
        name=name,
        family=family,
        description=data.get("description", ""),
        input_size=(int(width), int(height)),
        scale=data.get("scale", "255"),
        mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
        std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
        output=data["output"],
        licence=data.get("licence", "unknown"),
        licence_url=data.get("licence_url", ""),
        sha256=data["sha256"].lower(),
        size=data.get("size"),
        md5=data.get("md5", "").lower(),
        fp32=data.get("fp32", ""),
        openvino=bool(data.get("openvino", False)),
        sources=sources,
        custom=custom,
    )


# Defaults per family for `models import --family`: how each architecture was trained.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "u2net": {"input_size": [320, 320], "scale": "max", "mean": [0.485, 0.456, 0.406],
              "std": [0.229, 0.224, 0.225], "output": "minmax"},
    "isnet": {"input_size": [1024, 1024], "scale": "max", "mean": [0.485, 0.456, 0.406],
              "std": [1.0, 1.0, 1.0], "output": "minmax"},
    "birefnet": {"input_size": [1024, 1024], "scale": "max", "mean": [0.485, 0.456, 0.406],
                 "std": [0.229, 0.224, 0.225], "output": "logits"},
}


class Catalog:
    """The shipped catalogue plus models the user registered with `models import`."""

    def __init__(self, specs: dict[str, ModelSpec], default: str, custom_file: Path | None = None):
        self._specs = specs
        self.default = default
        self._custom_file = custom_file

    @classmethod
    def load(cls, custom_file: Path | None = None) -> "Catalog":
        text = resources.files(__package__).joinpath("catalog.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
        specs = {name: spec_from_dict(name, entry) for name, entry in data["models"].items()}
        if custom_file is not None and custom_file.exists():
            for name, entry in json.loads(custom_file.read_text(encoding="utf-8")).items():
                specs.setdefault(name, spec_from_dict(name, entry, custom=True))
        return cls(specs, data["default"], custom_file)

    def __iter__(self):
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str | None) -> ModelSpec:
        name = name or self.default
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(
                f"Unknown model {name!r}.",
                f"Known models: {', '.join(self._specs)} (see `alphalift models list`).",
            ) from None

    def register_custom(self, spec: ModelSpec) -> None:
        """Remember a user-imported model in the custom catalogue file (atomically)."""
        from ..fsutil import atomic_write_text

        if self._custom_file is None:
            raise RuntimeError("this catalogue has no custom-model file")
        existing: dict[str, Any] = {}
        if self._custom_file.exists():
            existing = json.loads(self._custom_file.read_text(encoding="utf-8"))
        existing[spec.name] = spec.to_dict()
        atomic_write_text(self._custom_file, json.dumps(existing, indent=2))
        self._specs[spec.name] = spec

    def unregister_custom(self, name: str) -> None:
        from ..fsutil import atomic_write_text

        spec = self._specs.get(name)
        if spec is None or not spec.custom or self._custom_file is None:
            return
        existing = json.loads(self._custom_file.read_text(encoding="utf-8"))
        existing.pop(name, None)
        atomic_write_text(self._custom_file, json.dumps(existing, indent=2))
        del self._specs[name]
