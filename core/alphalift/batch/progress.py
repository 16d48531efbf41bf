"""The progress bar: images done, images/s and time left, on a terminal only; failure lines go
above it so the bar stays whole."""
from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, force: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.shown = force or self.stream.isatty()
        self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def start(self, total: int) -> None:
        """Show the bar once the work left is known (skipped images do not count)."""
        if self.shown and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" images", file=self.stream, dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                                       "[{elapsed}<{remaining} left, {rate_fmt}]")

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
