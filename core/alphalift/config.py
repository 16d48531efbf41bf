"""Settings read from the environment (ALPHALIFT_*): one place that names the variable on error.

A typo in a variable must say which variable and what it accepts, not surface later as a
misleading message or a traceback from deep inside a library.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TypeVar

from .errors import AlphaLiftError

T = TypeVar("T", int, float)


class ConfigError(AlphaLiftError):
    """An ALPHALIFT_* environment variable holds a value AlphaLift cannot use."""

    code = "bad-config"


def env_number(name: str, kind: Callable[[str], T], default: T | None,
               minimum: T | None = None, what: str | None = None) -> T | None:
    """``name`` parsed by ``kind`` (int, float, or a parser such as pixel_count that raises
    ValueError); ``default`` when unset or empty. ``what`` says what the variable takes.

    Raises ConfigError naming the variable for text that is not a number or is below ``minimum``.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    what = what or ("a whole number" if kind is int else "a number")
    try:
        value = kind(text.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not {what}.",
                          f"Set {name} to {what}{'' if minimum is None else f' >= {minimum}'}, "
                          "or unset it.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={text!r} is below {minimum}.",
                          f"Set {name} to {what} >= {minimum}, or unset it.")
    return value


_PIXEL_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]?)p?", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def pixel_count(text: str) -> int:
    """A pixel count as people write it: 100000000, 100_000_000, 100M, 100MP, 1.5G, 800k.

    Raises ValueError for anything else, including a fraction of a pixel (1.5).
    """
    match = _PIXEL_COUNT.fullmatch(text.strip().replace("_", ""))
    if not match:
        raise ValueError(f"not a pixel count: {text!r}")
    number, unit = match[1], match[2].lower()
    if not unit and "." in number:
        raise ValueError(f"not a whole number of pixels: {text!r}")
    return round(float(number) * _SCALE[unit])


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """``name`` as one of ``choices``; ``default`` when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if text not in choices:
        raise ConfigError(f"{name}={text!r} is not one of {', '.join(choices)}.",
                          f"Set {name} to one of them, or unset it.")
    return text
