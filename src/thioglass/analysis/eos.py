"""Equations of state from a volume scan: bulk modulus, equilibrium volume and a smoothness check.

A static scan gives, for cells scaled isotropically around a minimum, the energy E(V) and the pressure
P(V) = -tr(stress)/3. A physical crystal's P(V) falls monotonically with volume and its slope dP/dV
changes slowly (B' ~ 4-6 gives a relative slope change of about B'x between points x apart in
volume strain). A force field that has left its reference's basin can show a flat stretch followed by a
jump (the shipped model's Li2S: near -1.6 GPa from 5.70 to 5.75 Å, then +3 GPa between 5.575 and
5.65 Å); :func:`pressure_smoothness` flags that as a kink.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from thioglass.errors import ThioglassError

#: eV/Å^3 to GPa.
EV_PER_A3_TO_GPA = 160.21766208


def _sorted_by_volume(volumes: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    v, y = np.asarray(volumes, dtype=float), np.asarray(values, dtype=float)
    if v.shape != y.shape or v.size < 4:
        raise ThioglassError(f"an equation of state needs at least 4 (volume, value) points, got {v.size}")
    if not (np.isfinite(v).all() and np.isfinite(y).all()):
        raise ThioglassError("the volume scan holds NaN or inf; check the potential at these volumes")
    order = np.argsort(v)
    return v[order], y[order]


def fit_energy_volume(volumes_angstrom3: Sequence[float], energies_ev: Sequence[float]) -> dict:
    """Birch-Murnaghan fit of E(V) (:class:`ase.eos.EquationOfState`).

    Returns ``volume_angstrom3`` (V0), ``energy_ev`` (E0), ``bulk_modulus_gpa`` and ``inside_scan`` (whether
    V0 lies inside the scanned volumes: outside, B is an extrapolation). A fit that fails (no minimum,
    as for an unbound crystal) returns None values instead of raising, so the check can say so.
    """
    import warnings

    from ase.eos import EquationOfState

    v, e = _sorted_by_volume(volumes_angstrom3, energies_ev)
    try:
        with warnings.catch_warnings():  # ASE warns when V0 is outside the scan; inside_scan says so
            warnings.simplefilter("ignore", UserWarning)
            v0, e0, b = EquationOfState(v, e, eos="birchmurnaghan").fit()
    except (RuntimeError, ValueError, TypeError, np.linalg.LinAlgError):
        return {"volume_angstrom3": None, "energy_ev": None, "bulk_modulus_gpa": None, "inside_scan": False}
    if not (np.isfinite(v0) and np.isfinite(b)) or b <= 0:
        return {"volume_angstrom3": None, "energy_ev": None, "bulk_modulus_gpa": None, "inside_scan": False}
    return {"volume_angstrom3": float(v0), "energy_ev": float(e0), "bulk_modulus_gpa": float(b * EV_PER_A3_TO_GPA),
            "inside_scan": bool(v[0] <= v0 <= v[-1])}


def fit_pressure_volume(volumes_angstrom3: Sequence[float], pressures_gpa: Sequence[float]) -> dict:
    """Bulk modulus from P(V) itself: a quadratic fit, ``V0`` where it crosses zero (with a negative slope,
    nearest the scan's middle), ``B = -V0 dP/dV`` there.

    The stress-based counterpart of :func:`fit_energy_volume`: the two differ when relaxations at
    neighbouring volumes end in different local minima (E jumps while P does not). None values when P
    does not cross zero with a negative slope within half the scan's width of it (an unbound crystal).
    """
    v, p = _sorted_by_volume(volumes_angstrom3, pressures_gpa)
    coefficients = np.polyfit(v, p, 2)
    slope = np.polyder(coefficients)
    width = v[-1] - v[0]
    roots = [r.real for r in np.roots(coefficients) if abs(r.imag) < 1e-9 and v[0] - width / 2 <= r.real <= v[-1] + width / 2
             and np.polyval(slope, r.real) < 0]
    if not roots:
        return {"volume_angstrom3": None, "bulk_modulus_gpa": None, "inside_scan": False}
    v0 = min(roots, key=lambda r: abs(r - v.mean()))
    return {"volume_angstrom3": float(v0), "bulk_modulus_gpa": float(-v0 * np.polyval(slope, v0)),
            "inside_scan": bool(v[0] <= v0 <= v[-1])}


def pressure_smoothness(volumes_angstrom3: Sequence[float], pressures_gpa: Sequence[float], *,
                        kink_tolerance: float = 0.5) -> dict:
    """Whether P(V) falls monotonically and without kinks.

    With slopes ``s_i = dP/dV`` between neighbouring points and the mean slope ``s = (P_last - P_first) /
    (V_last - V_first)``, the kink measure is ``max_i |s_{i+1} - s_i| / |s|``: the largest change of slope
    between neighbouring intervals relative to the mean slope (a second difference, normalised). A smooth
    crystal EOS sampled every 1.5-2 % in volume stays near 0.1-0.2; a flat stretch next to a steep one
    gives ~1 or more.

    Parameters
    ----------
    volumes_angstrom3, pressures_gpa
        The scan (any order).
    kink_tolerance
        Largest accepted relative slope change.

    Returns
    -------
    dict
        ``monotonic`` (every slope negative), ``max_relative_slope_change``, ``mean_slope_gpa_per_angstrom3``,
        ``slopes_gpa_per_angstrom3`` and ``smooth`` (monotonic and below the tolerance).
    """
    v, p = _sorted_by_volume(volumes_angstrom3, pressures_gpa)
    slopes = np.diff(p) / np.diff(v)
    mean_slope = (p[-1] - p[0]) / (v[-1] - v[0])
    monotonic = bool(np.all(slopes < 0))
    change = float(np.max(np.abs(np.diff(slopes))) / abs(mean_slope)) if mean_slope != 0 else float("inf")
    return {"monotonic": monotonic, "max_relative_slope_change": change,
            "mean_slope_gpa_per_angstrom3": float(mean_slope), "slopes_gpa_per_angstrom3": slopes.tolist(),
            "kink_tolerance": kink_tolerance, "smooth": monotonic and change <= kink_tolerance}
