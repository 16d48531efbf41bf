"""Settings read from the environment (ALPHALIFT_*): one place that names the variable on error.

A typo in a variable must say which variable and what it accepts, not surface later as a
misleading message or a traceback from deep inside a library.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from .errors import AlphaLiftError

T = TypeVar("T", int, float)


class ConfigError(AlphaLiftError):
    """An ALPHALIFT_* environment variable holds a value AlphaLift cannot use."""

    code = "bad-config"


def env_number(name: str, kind: Callable[[str], T], default: T | None,
               minimum: T | None = None) -> T | None:
    """``name`` parsed by ``kind`` (int or float); ``default`` when unset or empty.

    Raises ConfigError naming the variable for text that is not a number or is below ``minimum``.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    what = "a whole number" if kind is int else "a number"
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


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """``name`` as one of ``choices``; ``default`` when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if text not in choices:
        raise ConfigError(f"{name}={text!r} is not one of {', '.join(choices)}.",
                          f"Set {name} to one of them, or unset it.")
    return text
