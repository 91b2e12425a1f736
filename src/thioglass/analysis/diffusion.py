"""Li mean-squared displacement from (NPT) trajectories and the diffusion coefficient.

Positions are unwrapped by :mod:`thioglass.analysis.unwrap`, correct when the box changes
every frame (NPT). Nernst-Einstein conductivity and Arrhenius fits live in
:mod:`thioglass.analysis.conductivity` and are re-exported here.

Memory
------
Windowed multi-origin MSD needs the whole trajectory of the selected species:
``MSD`` keeps ``n_frames x n_selected x 3`` float64 (Li only; 2000 Li x 10^4 frames is
0.5 GB), plus one frame of all atoms for unwrapping. Thin the frames (``stride``) for
longer runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from thioglass.analysis.conductivity import arrhenius_fit, nernst_einstein, to_mS_cm
from thioglass.analysis.unwrap import Unwrapper, unwrap
from thioglass.errors import ThioglassError

__all__ = [
    "MSD",
    "DiffusionFitSettings",
    "MSDResult",
    "fit_diffusion",
    "msd_per_atom",
    "unwrap",
    "nernst_einstein",
    "arrhenius_fit",
    "to_mS_cm",
]

#: Å²/ps in cm²/s.
A2_PER_PS_TO_CM2_PER_S = 1e-4


@dataclass(frozen=True)
class MSDResult:
    """Multi-origin MSD.

    Attributes
    ----------
    lag_ps:
        Lag times (ps), shape (n_lags,), lags 1 .. n_frames-1 frame intervals.
    msd_A2:
        MSD averaged over atoms and all time origins (Å²).
    n_independent:
        Effective number of independent observations per lag, ``n_atoms * (n_frames-1) / lag``
        (atoms times non-overlapping windows; kinisi's count).
    per_atom_msd_A2:
        Origin-averaged MSD of each atom, shape (n_atoms, n_lags), for uncertainties.
    """

    lag_ps: np.ndarray
    msd_A2: np.ndarray
    n_independent: np.ndarray
    per_atom_msd_A2: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready curves (without the per-atom array)."""
        return {
            "lag_ps": self.lag_ps.tolist(),
            "msd_A2": self.msd_A2.tolist(),
            "n_independent": self.n_independent.tolist(),
            "n_atoms": int(self.per_atom_msd_A2.shape[0]),
        }


def msd_per_atom(positions: ArrayLike, chunk_elements: int = 2**24) -> np.ndarray:
    """Windowed (all time origins) MSD of each atom by FFT, lags 1 .. n_frames-1.

    Parameters
    ----------
    positions:
        Unwrapped positions, shape (n_frames, n_atoms, 3), Å.
    chunk_elements:
        Atoms are processed in chunks of about this many FFT elements to bound memory.

    Returns
    -------
    np.ndarray
        Shape (n_atoms, n_frames - 1), Å².
    """
    r = np.asarray(positions, dtype=float)
    n_frames, n_atoms = r.shape[:2]
    if n_frames < 2:
        raise ThioglassError("an MSD needs at least two frames")
    lags = np.arange(1, n_frames)
    counts = (n_frames - lags)[:, None]
    nfft = 2 * n_frames
    chunk = max(1, chunk_elements // (3 * nfft))
    out = np.empty((n_atoms, n_frames - 1))
    for start in range(0, n_atoms, chunk):
        # Centring each atom removes large offsets that would cost precision in S1 - 2 S2.
        x = r[:, start : start + chunk]
        x = x - x.mean(axis=0)
        sq = np.einsum("tad,tad->ta", x, x)
        csum = np.concatenate([np.zeros((1, sq.shape[1])), np.cumsum(sq, axis=0)])
        s1 = (csum[-1] - csum[lags] + csum[n_frames - lags]) / counts
        f = np.fft.rfft(x, n=nfft, axis=0)
        acf = np.fft.irfft(np.einsum("tad,tad->ta", f, f.conj()).real, n=nfft, axis=0)[lags]
        out[start : start + chunk] = (s1 - 2.0 * acf / counts).T
    return out


class MSD:
    """Streaming MSD of one species (freud/kinisi style).

    Parameters
    ----------
    species:
        Chemical symbol whose MSD is computed.
    timestep_fs:
        MD time step (fs).
    stride:
        MD steps between two frames passed to :meth:`compute`.
    remove_drift:
        Subtract, frame by frame, the mean displacement of the other atoms (the framework),
        as kinisi does, so a drifting centre of mass does not count as diffusion.
    """

    def __init__(self, species: str = "Li", timestep_fs: float = 1.0, stride: int = 1, remove_drift: bool = True):
        if timestep_fs <= 0 or stride < 1:
            raise ThioglassError("timestep_fs must be > 0 and stride >= 1")
        self.species = species
        self.timestep_fs = float(timestep_fs)
        self.stride = int(stride)
        self.remove_drift = remove_drift
        self._unwrapper = Unwrapper()
        self._symbols: tuple[str, ...] | None = None
        self._mask: np.ndarray | None = None
        self._selected: list[np.ndarray] = []

    @property
    def frame_interval_ps(self) -> float:
        return self.timestep_fs * self.stride / 1000.0

    def compute(self, frame) -> MSD:
        """Add one frame (``ase.Atoms``; wrapped or unwrapped positions, any cell)."""
        symbols = tuple(frame.get_chemical_symbols())
        if self._symbols is None:
            mask = np.array([s == self.species for s in symbols])
            if not mask.any():
                raise ThioglassError(f"the frame has no {self.species} atoms; check the species name")
            self._symbols, self._mask = symbols, mask
        elif symbols != self._symbols:
            raise ThioglassError("atoms changed order or identity between frames; give one consistent trajectory")
        if frame.cell.rank != 3:
            raise ThioglassError("the frame has no 3D cell; the MSD needs periodic frames with a cell")
        u = self._unwrapper.update(frame.get_positions(), frame.cell[:])
        selected = u[self._mask]
        if self.remove_drift and (~self._mask).any():
            selected = selected - u[~self._mask].mean(axis=0)
        self._selected.append(selected.copy())
        return self

    def result(self) -> MSDResult:
        """Multi-origin MSD of the frames seen so far."""
        if len(self._selected) < 3:
            raise ThioglassError("the MSD needs at least 3 frames; run a longer trajectory")
        per_atom = msd_per_atom(np.stack(self._selected))
        n_frames, n_atoms = len(self._selected), per_atom.shape[0]
        lags = np.arange(1, n_frames)
        return MSDResult(
            lag_ps=lags * self.frame_interval_ps,
            msd_A2=per_atom.mean(axis=0),
            n_independent=n_atoms * (n_frames - 1) / lags,
            per_atom_msd_A2=per_atom,
        )


@dataclass(frozen=True)
class DiffusionFitSettings:
    """How the diffusive range is chosen and D is fitted.

    Attributes
    ----------
    max_lag_fraction:
        Longest lag used, as a fraction of the longest lag available (few origins beyond).
    start_lag_ps:
        Fix the start of the fitted range (ps); ``None`` finds it automatically.
    slope_tolerance:
        The range is diffusive when its log-log slope is within this of 1.
    max_start_fraction:
        The automatic start is searched up to this fraction of the longest lag used.
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
    slope_tolerance: float = 0.15
    max_start_fraction: float = 0.5
    max_fit_points: int = 200
    n_bootstrap: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.max_lag_fraction <= 1 and 0 < self.max_start_fraction < 1):
            raise ThioglassError("max_lag_fraction must be in (0, 1] and max_start_fraction in (0, 1)")
        if self.slope_tolerance <= 0 or self.max_fit_points < 3 or self.n_bootstrap < 0:
            raise ThioglassError("slope_tolerance must be > 0, max_fit_points >= 3 and n_bootstrap >= 0")


def _loglog_slope(lag: np.ndarray, msd: np.ndarray) -> float:
    """Slope of ln MSD against ln lag, sampling each decade equally."""
    if np.any(msd <= 0):
        return float("nan")
    grid = np.unique(np.searchsorted(lag, np.geomspace(lag[0], lag[-1], 50)).clip(0, lag.size - 1))
    if grid.size < 2:
        return float("nan")
    return float(np.polyfit(np.log(lag[grid]), np.log(msd[grid]), 1)[0])


def _find_start(lag: np.ndarray, msd: np.ndarray, s: DiffusionFitSettings) -> tuple[int, float, bool]:
    """Index of the earliest start whose range to the end has a log-log slope near 1.

    The start must also be past the ballistic (or any super-diffusive) regime: the local
    log-log slope over [t, 2t] must not exceed 1 + tolerance.
    """
    if s.start_lag_ps is not None:
        start = int(np.searchsorted(lag, s.start_lag_ps))
        if start >= lag.size - 2:
            raise ThioglassError(f"start_lag_ps {s.start_lag_ps} leaves fewer than 3 lags to fit; lower it")
        slope = _loglog_slope(lag[start:], msd[start:])
        return start, slope, bool(abs(slope - 1.0) <= s.slope_tolerance)
    last = max(1, min(lag.size - 3, int(np.searchsorted(lag, s.max_start_fraction * lag[-1]))))
    candidates = np.unique(np.geomspace(1, last + 1, 30).astype(int) - 1)
    slopes = np.array([_loglog_slope(lag[i:], msd[i:]) for i in candidates])
    # Ballistic curvature: the local slope over [t, 2t] is still above 1 there.
    ends = [max(i + 2, int(np.searchsorted(lag, 2 * lag[i], "right"))) for i in candidates]
    local = np.array([_loglog_slope(lag[i:e], msd[i:e]) for i, e in zip(candidates, ends)])
    ok = np.flatnonzero((np.abs(slopes - 1.0) <= s.slope_tolerance) & (local <= 1.0 + s.slope_tolerance))
    if ok.size:
        return int(candidates[ok[0]]), float(slopes[ok[0]]), True
    # Non-diffusive: fit the latest candidate range, furthest from short-time effects.
    return int(candidates[-1]), float(slopes[-1]), False


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


def fit_diffusion(
    lag_ps: ArrayLike,
    msd_A2: ArrayLike,
    n_independent: ArrayLike | None = None,
    per_atom_msd_A2: ArrayLike | None = None,
    *,
    settings: DiffusionFitSettings | None = None,
) -> dict:
    """Diffusion coefficient from the linear (diffusive) part of an MSD curve.

    The fitted range starts at the earliest lag from which the log-log slope of the MSD up
    to the longest lag is within ``slope_tolerance`` of 1 (this drops the ballistic start
    and the cage plateau) and ends at ``max_lag_fraction`` of the curve. ``MSD = a + 6 D t``
    is fitted by generalised least squares with per-lag variances from the scatter between
    atoms (``per_atom_msd_A2``) or, without it, the Gaussian estimate
    ``2/3 MSD^2 / n_independent``. The uncertainty of D is the standard deviation of D over
    bootstrap resamples of atoms (each atom's whole curve resampled, so the correlation
    between lags is kept; it assumes atoms move independently) when per-atom curves are given,
    otherwise the GLS standard error.

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
        ``D_std_bootstrap_cm2_s`` (or None), ``uncertainty_method``, ``intercept_A2``,
        ``fit_start_ps``, ``fit_end_ps``, ``n_fit_points``, ``loglog_slope``, ``diffusive``
        (slope within tolerance and D above twice its uncertainty), ``message``.
    """
    s = settings or DiffusionFitSettings()
    lag, msd = np.asarray(lag_ps, dtype=float), np.asarray(msd_A2, dtype=float)
    if lag.ndim != 1 or lag.shape != msd.shape or lag.size < 4:
        raise ThioglassError("lag_ps and msd_A2 must be 1D arrays of the same length with at least 4 lags")
    if np.any(np.diff(lag) <= 0) or lag[0] <= 0 or not np.all(np.isfinite(msd)):
        raise ThioglassError("lag_ps must be positive and increasing and msd_A2 finite")
    per_atom = None if per_atom_msd_A2 is None else np.asarray(per_atom_msd_A2, dtype=float)
    if per_atom is not None and (per_atom.ndim != 2 or per_atom.shape[1] != lag.size or per_atom.shape[0] < 2):
        raise ThioglassError("per_atom_msd_A2 must have shape (n_atoms >= 2, n_lags)")
    if n_independent is None:
        n_indep = (lag.size / np.arange(1, lag.size + 1)) * (1 if per_atom is None else per_atom.shape[0])
    else:
        n_indep = np.asarray(n_independent, dtype=float)
    end = max(4, int(np.searchsorted(lag, s.max_lag_fraction * lag[-1], side="right")))
    lag, msd, n_indep = lag[:end], msd[:end], n_indep[:end]
    per_atom = None if per_atom is None else per_atom[:, :end]
    start, slope, slope_ok = _find_start(lag, msd, s)
    idx = np.unique(np.linspace(start, end - 1, min(s.max_fit_points, end - start)).astype(int))
    var = 2.0 / 3.0 * msd[idx] ** 2 / n_indep[idx]
    if per_atom is not None and np.max(per_atom[:, idx].var(axis=0)) > 0:
        var = per_atom[:, idx].var(axis=0, ddof=1) / per_atom.shape[0]
    if not np.max(var) > 0:
        raise ThioglassError("the MSD is zero over the fitted range: the atoms do not move; check the trajectory")
    operator, param_cov = _gls_operator(lag[idx], var)
    intercept, gradient = operator @ msd[idx]
    to_d = A2_PER_PS_TO_CM2_PER_S / 6.0
    d_model = float(np.sqrt(param_cov[1, 1]) * to_d)
    d_boot = None
    if per_atom is not None and s.n_bootstrap > 0:
        n_atoms = per_atom.shape[0]
        counts = np.random.default_rng(s.seed).multinomial(n_atoms, np.full(n_atoms, 1.0 / n_atoms), s.n_bootstrap)
        curves = counts @ per_atom[:, idx] / n_atoms
        d_boot = float(np.std((curves @ operator[1]) * to_d, ddof=1))
    d = float(gradient * to_d)
    d_std = d_boot if d_boot is not None else d_model
    diffusive = bool(slope_ok and d > 2.0 * d_std)
    if diffusive:
        message = "diffusive: log-log slope near 1 over the fitted range"
    elif not slope_ok:
        message = f"not diffusive: log-log slope {slope:.2f} is not within {s.slope_tolerance} of 1; run longer"
    else:
        message = "not diffusive: D is not above twice its uncertainty; run longer or hotter"
    return {
        "D_cm2_s": d,
        "D_std_cm2_s": d_std,
        "D_std_model_cm2_s": d_model,
        "D_std_bootstrap_cm2_s": d_boot,
        "uncertainty_method": "bootstrap over atoms" if d_boot is not None else "GLS standard error",
        "intercept_A2": float(intercept),
        "fit_start_ps": float(lag[idx[0]]),
        "fit_end_ps": float(lag[idx[-1]]),
        "n_fit_points": int(idx.size),
        "loglog_slope": None if np.isnan(slope) else slope,
        "diffusive": diffusive,
        "message": message,
        "settings": asdict(s),
    }
