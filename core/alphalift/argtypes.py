"""Command-line numbers as people write them, each checked against its bound by argparse, so a bad
value is a usage error naming the option before anything runs."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from fractions import Fraction
from typing import TypeVar

from .config import pixel_count

T = TypeVar("T", int, float, Fraction)


def bounded(parse: Callable[[str], T], what: str, minimum: T, above: bool = False) -> Callable[[str], T]:
    """An argparse ``type``: ``parse`` the text (else "is not WHAT"), then require it to be at
    least ``minimum`` (strictly above it with ``above``)."""
    def convert(text: str) -> T:
        try:
            value = parse(text)
        except (ValueError, ZeroDivisionError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum or (above and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {'above' if above else 'at least'} {float(minimum):g}")
        return value

    return convert


pixel_limit = bounded(pixel_count, "a pixel count (e.g. 100000000 or 100M)", 1)
positive_int = bounded(int, "a whole number", 1)
non_negative_float = bounded(float, "a number", 0.0)
frame_rate = bounded(lambda text: Fraction(text).limit_denominator(100000),
                     "a frame rate (e.g. 25 or 30000/1001)", Fraction(0), above=True)


def coordinates(count: int, shape: str) -> Callable[[str], tuple[float, ...]]:
    """An argparse ``type`` for ``count`` comma-separated pixel coordinates (floats allowed);
    whether they lie within the image is checked once the image's size is known."""
    from .prompts import parse_numbers

    def convert(text: str) -> tuple[float, ...]:
        try:
            return parse_numbers(text, count)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {shape} ({count} numbers)") from None

    return convert


box_coordinates = coordinates(4, "x0,y0,x1,y1")
point_coordinates = coordinates(2, "x,y")
