"""Distributions on the ground floor: the normal cdf and ppf, lognormal parameters, inverse-CDF picks.

Every layer uses these; none writes its own. All are vectorised over numpy arrays and deterministic
(no randomness here: callers pass the uniforms they drew from their own streams).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

_erfc = np.frompyfunc(math.erfc, 1, 1)


def norm_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x), float64 (exact to double precision via math.erfc)."""
    x = np.asarray(x, dtype=np.float64)
    return (0.5 * _erfc(-x / math.sqrt(2.0)).astype(np.float64)).reshape(x.shape)


_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
      4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)


def norm_ppf(u: np.ndarray) -> np.ndarray:
    """Φ⁻¹(u) for u in (0, 1): Acklam's rational approximation (relative error < 1.2e-9); u is clipped
    to [1e-300, 1 - 2⁻⁵³] so a uniform of exactly 0 maps to a finite value."""
    u = np.clip(np.asarray(u, dtype=np.float64), 1e-300, 1.0 - 2.0**-53)
    out = np.empty_like(u)
    lo, hi = u < 0.02425, u > 1.0 - 0.02425
    mid = ~(lo | hi)
    q = u[mid] - 0.5
    r = q * q
    a, b, c, d = _A, _B, _C, _D
    out[mid] = (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    )
    for mask, sign, p in ((lo, 1.0, u[lo]), (hi, -1.0, 1.0 - u[hi])):
        t = np.sqrt(-2.0 * np.log(p))
        out[mask] = sign * (
            (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5])
            / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0)
        )
    return out


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with this mean and standard deviation (mean floored at 1e-9)."""
    mean = max(mean, 1e-9)
    s2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - s2 / 2.0, math.sqrt(s2)


def pick(cdf: np.ndarray, u: np.ndarray | float) -> np.ndarray:
    """Inverse-CDF pick: the index i with cdf[i-1] <= u < cdf[i] for each uniform u (`cdf` ascending,
    ending at the total; u beyond the end picks the last index)."""
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def pick_weighted(weights: np.ndarray, u: np.ndarray | float) -> np.ndarray:
    """`pick` over unnormalised weights: u in [0, 1) is scaled by their sum."""
    cdf = np.cumsum(weights)
    return pick(cdf, np.asarray(u) * cdf[-1])


def band_values(bands: Mapping[int, float], x: np.ndarray | float) -> np.ndarray:
    """The value of the band each x falls in; `bands` maps each band's lowest score to its value (score
    tiers: underwriting factors, APRs). Below the lowest band, its value."""
    lows = sorted(bands)
    values = np.array([bands[k] for k in lows], dtype=np.float64)
    return values[np.maximum(np.searchsorted(np.array(lows, dtype=np.float64), x, side="right") - 1, 0)]


__all__ = ["band_values", "lognormal_params", "norm_cdf", "norm_ppf", "pick", "pick_weighted"]
