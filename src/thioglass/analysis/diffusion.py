"""The Li diffusion coefficient from a mean-squared displacement: the diffusive range and the fit.

The MSD itself (all time origins, unwrapped in a changing box) is :mod:`thioglass.analysis.msd`;
Nernst-Einstein conductivity and Arrhenius fits live in :mod:`thioglass.analysis.conductivity`.
All three are re-exported here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from thioglass.analysis.conductivity import arrhenius_fit, nernst_einstein, to_mS_cm
from thioglass.analysis.msd import MSD, MSDResult, msd_per_atom
from thioglass.analysis.unwrap import unwrap
from thioglass.errors import ThioglassError

__all__ = [
    "MSD",
    "DiffusionFitSettings",
    "MSDResult",
    "fit_diffusion",
    "local_slopes",
    "msd_per_atom",
    "unwrap",
    "nernst_einstein",
    "arrhenius_fit",
    "to_mS_cm",
]

#: Å²/ps in cm²/s.
A2_PER_PS_TO_CM2_PER_S = 1e-4


@dataclass(frozen=True)
class DiffusionFitSettings:
    """How the diffusive range is chosen and D is fitted.

    The fitted range ``[t_s, t_end]`` ends at ``max_lag_fraction`` of the longest lag. Its start
    ``t_s`` is the earliest lag (searched up to ``max_start_fraction * t_end``) at which

    1. the MSD has passed ``min_msd_A2``;
    2. from there on every local log-log slope is within ``local_slope_tolerance`` of 1: the
       slope of ln MSD against ln t over each window ``[t, t / max_start_fraction]`` inside the
       range (a least-squares line through 16 points spaced evenly in ln t, which smooths the
       noise of single lags); this rejects a ballistic shoulder or a cage dip anywhere in it;
    3. the log-log slope of the whole range is within ``slope_tolerance`` of 1; this rejects a
       uniformly sub-diffusive curve (slope 0.86, say) whose local slopes are all near 0.86.

    The MSD threshold keeps the ballistic start and the vibrating (caged) regime out of the fit
    whatever their local slope: one Li hop (2-3 Å) is 4-9 Å², the caged plateau is below that
    (docs/analysis-checks.md). The tolerances are set against the noise of random walks (see
    tests/test_diffusion.py): for 112 walkers over 10 ps (a quick-preset cell) the 95th
    percentile of the largest local deviation is 0.10 and of the range's slope 0.07; for 64
    walkers over 30 ps single local windows reach 0.15. The local test only has to catch
    features (a ballistic shoulder near 2, a cage dip near 0.5), so it is loose; the slope of the
    range carries the 0.1 accuracy. When no start qualifies there is no diffusion
    coefficient: the result is ``sub-diffusive`` (slope below 1, or the MSD below the threshold)
    or ``super-diffusive``, and ``D_cm2_s`` is None.

    Attributes
    ----------
    max_lag_fraction:
        Longest lag used, as a fraction of the longest lag available (few origins beyond).
    start_lag_ps:
        Fix the start of the fitted range (ps); ``None`` finds it automatically. A fixed start is
        fitted even when it fails the criterion (the result then says so).
    min_msd_A2:
        The MSD must have passed this (Å²) at the start of the range.
    slope_tolerance:
        The log-log slope of the whole range must be within this of 1.
    local_slope_tolerance:
        Every local log-log slope in the range must be within this of 1.
    max_start_fraction:
        The start is searched up to this fraction of the longest lag used; its inverse is the
        width (a factor in lag) of the windows of the local slope.
    max_fit_points:
        The fitted lags are thinned to at most this many (neighbouring lags are nearly
        fully correlated, so little is lost).
    n_bootstrap:
        Resamples of atoms for the bootstrap uncertainty (0 switches it off).
    seed:
        Seed of the bootstrap.
    """

    max_lag_fraction: float = 0.5
    start_lag_ps: float | None = None
    min_msd_A2: float = 4.0
    slope_tolerance: float = 0.1
    local_slope_tolerance: float = 0.25
    max_start_fraction: float = 0.5
    max_fit_points: int = 200
    n_bootstrap: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.max_lag_fraction <= 1 and 0 < self.max_start_fraction < 1):
            raise ThioglassError("max_lag_fraction must be in (0, 1] and max_start_fraction in (0, 1)")
        if min(self.slope_tolerance, self.local_slope_tolerance) <= 0 or self.min_msd_A2 < 0:
            raise ThioglassError("slope_tolerance and local_slope_tolerance must be > 0 and min_msd_A2 >= 0")
        if self.max_fit_points < 3 or self.n_bootstrap < 0:
            raise ThioglassError("max_fit_points must be >= 3 and n_bootstrap >= 0")

    @property
    def criterion(self) -> str:
        """The rule for the start of the fitted range, in words."""
        return (f"first lag where the MSD has passed {self.min_msd_A2:g} Å², from which every local log-log slope "
                f"(windows of a factor {1 / self.max_start_fraction:g} in lag) is within "
                f"{self.local_slope_tolerance:g} of 1 and the slope of the whole range within "
                f"{self.slope_tolerance:g} of 1")


_POINTS_PER_WINDOW = 16


def local_slopes(lag: np.ndarray, msd: np.ndarray, starts_ps: np.ndarray, factor: float) -> np.ndarray:
    """Log-log slope of the MSD over each window ``[t, factor * t]``.

    A least-squares line through ``_POINTS_PER_WINDOW`` points spaced evenly in ln t, the MSD
    interpolated linearly in log-log between lags (a non-positive MSD counts as 1e-12 Å², so a
    window that holds one fails any slope test).
    """
    x = np.log(np.asarray(starts_ps, dtype=float))[:, None] + np.linspace(0.0, np.log(factor), _POINTS_PER_WINDOW)
    y = np.interp(x, np.log(lag), np.log(np.clip(msd, 1e-12, None)))
    x = x - x.mean(axis=1, keepdims=True)
    return np.sum(x * (y - y.mean(axis=1, keepdims=True)), axis=1) / np.sum(x * x, axis=1)


@dataclass(frozen=True)
class _Range:
    """The fitted lags from ``start`` on and the verdict on them."""

    start: int
    regime: str  # diffusive (D's size is checked after the fit), sub-diffusive or super-diffusive
    reason: str
    local_slopes: np.ndarray
    slope: float  # over the whole range


def _range_slope(lag: np.ndarray, msd: np.ndarray, start: int) -> float:
    return float(local_slopes(lag, msd, lag[start:start + 1], lag[-1] / lag[start])[0])


def _choose_range(lag: np.ndarray, msd: np.ndarray, s: DiffusionFitSettings) -> _Range:
    """Start of the fitted range by :class:`DiffusionFitSettings`' criterion (or the fixed start)."""
    factor = 1.0 / s.max_start_fraction
    last = max(0, int(np.searchsorted(lag, lag[-1] / factor, side="right")) - 1)
    n_grid = max(2, int(20 * np.log10(max(lag[last] / lag[0], 1.0))) + 2)  # about 20 per decade
    grid = np.unique(np.append(np.searchsorted(lag, np.geomspace(lag[0], lag[last], n_grid)).clip(0, last), last))
    local = local_slopes(lag, msd, lag[grid], factor)
    holds_on = np.flip(np.logical_and.accumulate(np.flip(np.abs(local - 1.0) <= s.local_slope_tolerance)))
    whole = np.array([_range_slope(lag, msd, i) for i in grid])
    if s.start_lag_ps is not None:
        start = int(np.searchsorted(lag, s.start_lag_ps))
        if start >= lag.size - 2:
            raise ThioglassError(f"start_lag_ps {s.start_lag_ps} leaves fewer than 3 lags to fit; lower it")
        slope = _range_slope(lag, msd, start)
        window = local[grid >= start] if np.any(grid >= start) else np.array([slope])
        good = bool(np.all(np.abs(window - 1.0) <= s.local_slope_tolerance) and abs(slope - 1.0) <= s.slope_tolerance
                    and msd[start] >= s.min_msd_A2)
        reason = "" if good else f"the fixed start {lag[start]:.3g} ps fails the criterion ({s.criterion})"
        return _Range(start, "diffusive" if good else _failed_regime(np.append(window, slope), s), reason, window, slope)
    qualifies = np.flatnonzero(holds_on & (np.abs(whole - 1.0) <= s.slope_tolerance) & (msd[grid] >= s.min_msd_A2))
    if qualifies.size:
        k = int(qualifies[0])
        return _Range(int(grid[k]), "diffusive", "", local[k:], float(whole[k]))
    # No start qualifies: the latest window is the one furthest from short-time effects.
    final_slope, final_msd = float(local[-1]), float(msd[last])
    if final_msd < s.min_msd_A2 and abs(final_slope - 1.0) <= s.slope_tolerance:
        reason = (f"the MSD reaches only {final_msd:.2g} Å² by {lag[last]:.3g} ps, the latest allowed start, "
                  f"below the {s.min_msd_A2:g} Å² of the criterion (Li still caged)")
    else:
        reason = (f"no start meets the criterion; the log-log slope of the MSD over its last window is "
                  f"{final_slope:.2f}, not within {s.slope_tolerance:g} of 1")
    return _Range(last, _failed_regime(local[-1:], s), reason, local[-1:], final_slope)


def _failed_regime(slopes: np.ndarray, s: DiffusionFitSettings) -> str:
    """``super-diffusive`` when the slope furthest from 1 is above it, else ``sub-diffusive``."""
    furthest = slopes[np.nanargmax(np.abs(slopes - 1.0))] if np.isfinite(slopes).any() else 0.0
    return "super-diffusive" if furthest > 1.0 + s.slope_tolerance else "sub-diffusive"


def _gls_operator(lag: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised least squares for MSD = a + b*lag; returns (operator 2xn, covariance 2x2).

    The covariance between MSD estimates at two lags is modelled like Brownian motion,
    corr = sqrt(min/max) of the lags (the form kinisi uses), scaled by the per-lag variances.
    """
    ratio = np.sqrt(np.minimum.outer(lag, lag) / np.maximum.outer(lag, lag))
    sd = np.sqrt(np.maximum(var, np.max(var) * 1e-12))
    cov = ratio * np.outer(sd, sd)
    design = np.column_stack([np.ones_like(lag), lag])
    factor = scipy.linalg.cho_factor(cov + np.eye(lag.size) * 1e-10 * np.max(cov))
    cinv_x = scipy.linalg.cho_solve(factor, design)
    param_cov = np.linalg.inv(design.T @ cinv_x)
    return param_cov @ cinv_x.T, param_cov


def _check_inputs(lag: np.ndarray, msd: np.ndarray, per_atom: np.ndarray | None) -> None:
    if lag.ndim != 1 or lag.shape != msd.shape or lag.size < 4:
        raise ThioglassError("lag_ps and msd_A2 must be 1D arrays of the same length with at least 4 lags")
    if np.any(np.diff(lag) <= 0) or lag[0] <= 0 or not np.all(np.isfinite(msd)):
        raise ThioglassError("lag_ps must be positive and increasing and msd_A2 finite")
    if per_atom is not None and (per_atom.ndim != 2 or per_atom.shape[1] != lag.size or per_atom.shape[0] < 2):
        raise ThioglassError("per_atom_msd_A2 must have shape (n_atoms >= 2, n_lags)")


def _gls_fit(lag: np.ndarray, msd: np.ndarray, n_indep: np.ndarray, per_atom: np.ndarray | None,
             s: DiffusionFitSettings) -> tuple[float, float, float, float | None]:
    """(intercept Å², D cm²/s, its GLS standard error, its bootstrap standard deviation or None)."""
    var = 2.0 / 3.0 * msd**2 / n_indep
    if per_atom is not None and np.max(per_atom.var(axis=0)) > 0:
        var = per_atom.var(axis=0, ddof=1) / per_atom.shape[0]
    if not np.max(var) > 0:
        raise ThioglassError("the MSD is zero over the fitted range: the atoms do not move; check the trajectory")
    operator, param_cov = _gls_operator(lag, var)
    intercept, gradient = operator @ msd
    to_d = A2_PER_PS_TO_CM2_PER_S / 6.0
    d_boot = None
    if per_atom is not None and s.n_bootstrap > 0:
        n_atoms = per_atom.shape[0]
        counts = np.random.default_rng(s.seed).multinomial(n_atoms, np.full(n_atoms, 1.0 / n_atoms), s.n_bootstrap)
        d_boot = float(np.std((counts @ per_atom / n_atoms @ operator[1]) * to_d, ddof=1))
    return float(intercept), float(gradient * to_d), float(np.sqrt(param_cov[1, 1]) * to_d), d_boot


def fit_diffusion(
    lag_ps: ArrayLike,
    msd_A2: ArrayLike,
    n_independent: ArrayLike | None = None,
    per_atom_msd_A2: ArrayLike | None = None,
    *,
    settings: DiffusionFitSettings | None = None,
) -> dict:
    """Diffusion coefficient from the linear (diffusive) part of an MSD curve.

    The fitted range ends at ``max_lag_fraction`` of the curve and starts where
    :class:`DiffusionFitSettings`' criterion first holds (the MSD past ``min_msd_A2`` and every
    local log-log slope from there on, and the slope of the range, near 1). ``MSD = a + 6 D t``
    is fitted by generalised least squares with per-lag variances from the scatter between
    atoms (``per_atom_msd_A2``) or, without it, the Gaussian estimate
    ``2/3 MSD^2 / n_independent``. The uncertainty of D is the standard deviation of D over
    bootstrap resamples of atoms (each atom's whole curve resampled, so the correlation
    between lags is kept; it assumes atoms move independently) when per-atom curves are given,
    otherwise the GLS standard error. When no start qualifies there is no D: the same line is
    fitted over the last window and reported only as ``D_apparent_cm2_s``.

    Parameters
    ----------
    lag_ps, msd_A2:
        Lag times (ps, increasing) and MSD (Å²), e.g. from :meth:`MSD.result`.
    n_independent:
        Independent observations per lag; default ``n_atoms * n_lags / k`` for the k-th lag
        (lags 1..n frame intervals of one trajectory).
    per_atom_msd_A2:
        Per-atom curves, shape (n_atoms, n_lags): enables data-driven variances and the
        bootstrap.
    settings:
        :class:`DiffusionFitSettings`.

    Returns
    -------
    dict
        JSON-ready: ``D_cm2_s``, ``D_std_cm2_s``, ``D_std_model_cm2_s``,
        ``D_std_bootstrap_cm2_s`` (None without a diffusive range, or without bootstrap),
        ``D_apparent_cm2_s`` (the slope/6 of the fitted range, always), ``uncertainty_method``,
        ``intercept_A2``, ``fit_start_ps``, ``fit_end_ps``, ``n_fit_points``, ``loglog_slope``
        (over the range), ``local_slope_min``/``_max`` (local slopes over the range),
        ``regime`` (``diffusive``, ``sub-diffusive``, ``super-diffusive`` or ``unresolved``:
        D not above twice its uncertainty), ``diffusive``, ``criterion``, ``message``, ``settings``.
    """
    s = settings or DiffusionFitSettings()
    lag, msd = np.asarray(lag_ps, dtype=float), np.asarray(msd_A2, dtype=float)
    per_atom = None if per_atom_msd_A2 is None else np.asarray(per_atom_msd_A2, dtype=float)
    _check_inputs(lag, msd, per_atom)
    if n_independent is None:
        n_indep = (lag.size / np.arange(1, lag.size + 1)) * (1 if per_atom is None else per_atom.shape[0])
    else:
        n_indep = np.asarray(n_independent, dtype=float)
    end = max(4, int(np.searchsorted(lag, s.max_lag_fraction * lag[-1], side="right")))
    lag, msd, n_indep = lag[:end], msd[:end], n_indep[:end]
    chosen = _choose_range(lag, msd, s)
    idx = np.unique(np.linspace(chosen.start, end - 1, min(s.max_fit_points, end - chosen.start)).astype(int))
    intercept, d, d_model, d_boot = _gls_fit(lag[idx], msd[idx], n_indep[idx],
                                             None if per_atom is None else per_atom[:, idx], s)
    d_std = d_boot if d_boot is not None else d_model
    regime, reason = chosen.regime, chosen.reason
    if regime == "diffusive" and not d > 2.0 * d_std:
        regime, reason = "unresolved", "D is not above twice its uncertainty; run longer or hotter"
    has_d = regime in ("diffusive", "unresolved") or s.start_lag_ps is not None
    message = ("diffusive: " + s.criterion) if regime == "diffusive" else f"not diffusive ({regime}): {reason}"
    return {
        "D_cm2_s": d if has_d else None,
        "D_std_cm2_s": d_std if has_d else None,
        "D_std_model_cm2_s": d_model if has_d else None,
        "D_std_bootstrap_cm2_s": d_boot if has_d else None,
        "D_apparent_cm2_s": d,
        "uncertainty_method": "bootstrap over atoms" if d_boot is not None else "GLS standard error",
        "intercept_A2": intercept,
        "fit_start_ps": float(lag[idx[0]]),
        "fit_end_ps": float(lag[idx[-1]]),
        "n_fit_points": int(idx.size),
        "loglog_slope": _finite_or_none(chosen.slope),
        "local_slope_min": _finite_or_none(np.min(chosen.local_slopes)),
        "local_slope_max": _finite_or_none(np.max(chosen.local_slopes)),
        "regime": regime,
        "diffusive": regime == "diffusive",
        "criterion": s.criterion,
        "message": message,
        "settings": asdict(s),
    }


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
