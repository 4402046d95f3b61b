"""Argument types of the grading commands: fine-tuning settings no training can run with are
refused when the command starts, not minutes later inside a failed run or a queued task."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

# Fewer tokens than this leave no room for an essay's head and tail beside the special tokens.
MIN_MAX_LENGTH = 16


def int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value
