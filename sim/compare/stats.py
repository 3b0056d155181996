"""Means and confidence intervals over seeds, and empirical CDFs with pointwise bands.

The interval of a mean over n runs is Student's t: mean ± t(1 − α/2, n − 1) · s / √n, with s the
sample standard deviation (n − 1 in the denominator). Runs of one seed are independent draws of
the same scenario, so this is the textbook interval; with n < 2 there is none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

__all__ = ["Interval", "interval", "ecdf", "cdf_band", "LEVEL"]

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None

    def row(self) -> dict:
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "low": self.low, "high": self.high}


def interval(values: list[float], level: float = LEVEL) -> Interval:
    """The mean of `values` (None left out) and its `level` t-interval."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return Interval(0, None, None, None, None)
    mean = math.fsum(xs) / n
    if n < 2:
        return Interval(1, mean, None, None, None)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(_scipy.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(n, mean, sd, mean - half, mean + half)


def ecdf(sample: list[float], grid: np.ndarray) -> np.ndarray:
    """The fraction of `sample` at or below each x of `grid` (all 0 for an empty sample)."""
    if not sample:
        return np.zeros_like(grid, dtype=float)
    ordered = np.sort(np.asarray(sample, dtype=float))
    return np.searchsorted(ordered, grid, side="right") / len(ordered)


def cdf_band(samples: list[list[float]], grid: np.ndarray,
             level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over runs (one sample each): the mean CDF at each x of `grid` and its pointwise
    `level` t-interval, clipped to [0, 1]. With one run the band is the line itself."""
    curves = np.array([ecdf(s, grid) for s in samples], dtype=float)
    mean = curves.mean(axis=0)
    n = len(samples)
    if n < 2:
        return mean, mean, mean
    half = _scipy.t.ppf(0.5 + level / 2, n - 1) * curves.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1)
