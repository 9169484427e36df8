"""A fraction-driven progress bar: tqdm on a terminal; in a log or a pipe, a plain line now and then
(every 25 % or 15 s) instead of tqdm's carriage-return redraws."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    SCALE = 1000
    LINE_EVERY_FRACTION = 0.25
    LINE_EVERY_S = 15.0

    def __init__(self, desc: str, stream=None):
        self.desc = desc
        self.stream = stream or sys.stderr
        self.done = 0
        self.bar = None
        self._line_fraction = -1.0
        self._line_time = time.monotonic()
        if getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                pass
            else:
                self.bar = tqdm(
                    total=self.SCALE,
                    desc=f"      {desc}",
                    file=self.stream,
                    leave=False,
                    bar_format="{desc}: {percentage:3.0f}%|{bar:24}| {elapsed} {postfix}",
                )

    def update(self, fraction: float, message: str = "") -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        if self.bar is None:
            now = time.monotonic()
            if fraction - self._line_fraction >= self.LINE_EVERY_FRACTION or (
                now - self._line_time >= self.LINE_EVERY_S and fraction > self._line_fraction
            ):
                self._line_fraction, self._line_time = fraction, now
                print(f"      {self.desc}: {fraction * 100:3.0f}% {message}", file=self.stream, flush=True)
            return
        target = int(fraction * self.SCALE)
        if target > self.done:
            self.bar.update(target - self.done)
            self.done = target
        if message:
            self.bar.set_postfix_str(message[:70], refresh=True)

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
