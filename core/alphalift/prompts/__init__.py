"""What the user says the subject is: an optional box and include / exclude points.

Coordinates are image pixels: origin at the top-left corner, x to the right, y down; a pixel
(i, j) covers x in [i, i+1), y in [j, j+1). A box ``x0,y0,x1,y1`` needs x0 < x1 and y0 < y1 and
lies within the image; a point lies within the image. Every front end (CLI, worker protocol,
Python API) checks a prompt with ``Prompt.check`` and so refuses the same things with the same
words, naming the option the value came from.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

Point = tuple[float, float]
Box = tuple[float, float, float, float]


class PromptError(InputError):
    """A box or point the image cannot take; the message names the option it came from."""

    code = "bad-prompt"


@dataclass(frozen=True)
class PromptNames:
    """How each front end calls the three fields in its messages (CLI: --box ...)."""

    box: str = "box"
    include: str = "include"
    exclude: str = "exclude"


CLI_NAMES = PromptNames("--box", "--include", "--exclude")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PromptError(f"{name}: {value!r} is not a number.", "Give pixel coordinates as numbers.")
    number = float(value)
    if not math.isfinite(number):
        raise PromptError(f"{name}: {value!r} is not a finite number.", "Give pixel coordinates as numbers.")
    return number


def _numbers(values: Any, count: int, name: str, shape: str) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != count:
        raise PromptError(f"{name}: {values!r} is not {shape}.", f"Write it as {shape}.")
    return tuple(_number(value, name) for value in values)


@dataclass(frozen=True)
class Prompt:
    """A box (x0, y0, x1, y1) or None, and include / exclude points (x, y), in image pixels."""

    box: Box | None = None
    include: tuple[Point, ...] = ()
    exclude: tuple[Point, ...] = ()

    @classmethod
    def of(cls, box: Sequence[float] | None = None, include: Iterable[Sequence[float]] = (),
           exclude: Iterable[Sequence[float]] = (), names: PromptNames = PromptNames()) -> Prompt:
        """Build a prompt from plain numbers, refusing anything that is not a box or points."""
        return cls(
            None if box is None else _numbers(box, 4, names.box, "x0,y0,x1,y1"),  # type: ignore[arg-type]
            tuple(_numbers(p, 2, names.include, "x,y") for p in include),  # type: ignore[misc]
            tuple(_numbers(p, 2, names.exclude, "x,y") for p in exclude))  # type: ignore[misc]

    @classmethod
    def from_json(cls, value: Any, names: PromptNames = PromptNames()) -> Prompt:
        """The worker protocol's ``"prompt"`` object: {"box": [4 numbers] or null, "include":
        [[x, y], ...], "exclude": [[x, y], ...]}, every key optional."""
        if not isinstance(value, Mapping):
            raise PromptError(f"prompt: {value!r} is not an object.", 'Send {"box": ..., "include": ..., "exclude": ...}.')
        unknown = sorted(set(value) - {"box", "include", "exclude"})
        if unknown:
            raise PromptError(f"prompt: unknown field {unknown[0]!r}.", "Use box, include and exclude.")
        for key in ("include", "exclude"):
            points = value.get(key, [])
            if isinstance(points, (str, bytes)) or not isinstance(points, Sequence):
                raise PromptError(f"{getattr(names, key)}: {points!r} is not a list of points.",
                                  "Send a list of [x, y] pairs.")
        return cls.of(value.get("box"), value.get("include", []), value.get("exclude", []), names)

    def to_json(self) -> dict[str, Any]:
        return {"box": None if self.box is None else list(self.box),
                "include": [list(p) for p in self.include], "exclude": [list(p) for p in self.exclude]}

    @property
    def is_empty(self) -> bool:
        return self.box is None and not self.include and not self.exclude

    @property
    def points(self) -> tuple[tuple[Point, bool], ...]:
        """Every point with True for include, False for exclude."""
        return tuple((p, True) for p in self.include) + tuple((p, False) for p in self.exclude)

    def check(self, width: int, height: int, names: PromptNames = PromptNames()) -> Prompt:
        """Refuse a box or point outside a ``width`` x ``height`` image, or an empty or inverted
        box; returns the prompt, so a caller can check and use it in one expression."""
        size = f"the image is {width}x{height}"
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            text = ",".join(f"{v:g}" for v in self.box)
            if not (x0 < x1 and y0 < y1):
                raise PromptError(f"{names.box} {text} is empty or inverted.",
                                  "Give x0,y0,x1,y1 with x0 < x1 and y0 < y1.")
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                raise PromptError(f"{names.box} {text} reaches outside the image ({size}).",
                                  f"Keep it within 0,0,{width},{height}.")
        for (x, y), include in self.points:
            if not (0 <= x < width and 0 <= y < height):
                name = names.include if include else names.exclude
                raise PromptError(f"{name} {x:g},{y:g} is outside the image ({size}).",
                                  f"Keep points within 0 <= x < {width}, 0 <= y < {height}.")
        return self


def parse_numbers(text: str, count: int) -> tuple[float, ...]:
    """'12,30.5' -> (12.0, 30.5); ValueError unless exactly ``count`` finite numbers."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != count:
        raise ValueError(text)
    values = tuple(float(part) for part in parts)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(text)
    return values
