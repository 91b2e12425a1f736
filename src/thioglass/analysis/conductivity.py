"""Ionic conductivity from D (Nernst-Einstein) and Arrhenius fits (the paper's section 2.3).

``sigma = n e^2 D / (k_B T H_R)`` with ``n`` the carrier number density. The Haven ratio
``H_R`` is 1 by default, which is the paper's assumption (uncorrelated ions: tracer and
charge diffusion coefficients equal); a measured or computed ``H_R`` can be passed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from thioglass.elements import (
    AVOGADRO,
    BOLTZMANN_EV_K,
    BOLTZMANN_J_K,
    COMPONENTS,
    ELEMENTARY_CHARGE_C,
    EV_TO_KJ_MOL,
    MASS_G_MOL,
)
from thioglass.errors import ThioglassError


def number_density_per_cm3(n_atoms: float, volume_angstrom3: float) -> float:
    """Number density (1/cm³) of ``n_atoms`` in ``volume_angstrom3`` (Å³)."""
    if n_atoms <= 0 or volume_angstrom3 <= 0:
        raise ThioglassError("the number of carriers and the volume must both be positive")
    return float(n_atoms / (volume_angstrom3 * 1e-24))


def li_density_from_mass_density(density_g_cm3: float, counts: dict[str, float]) -> float:
    """Li number density (1/cm³) of a material of given mass density and element counts.

    Parameters
    ----------
    density_g_cm3:
        Mass density (g/cm³).
    counts:
        Atoms per formula unit, e.g. ``{"Li": 6, "P": 2, "S": 8}`` for 75Li2S-25P2S5, or
        mole numbers of the components, e.g. ``{"Li2S": 75, "P2S5": 25}``.
    """
    if density_g_cm3 <= 0:
        raise ThioglassError(f"density {density_g_cm3} g/cm3 must be positive")
    atoms: dict[str, float] = {}
    for name, n in counts.items():
        for element, k in COMPONENTS.get(name, {name: 1}).items():
            if element not in MASS_G_MOL:
                raise ThioglassError(f"unknown element or component {name!r}; use Li, Si, P, S, Li2S, SiS2 or P2S5")
            atoms[element] = atoms.get(element, 0.0) + n * k
    molar_mass = sum(MASS_G_MOL[el] * n for el, n in atoms.items())
    if atoms.get("Li", 0.0) <= 0 or molar_mass <= 0:
        raise ThioglassError("the composition has no Li; give Li-containing counts")
    return float(atoms["Li"] * density_g_cm3 / molar_mass * AVOGADRO)


def nernst_einstein(
    D_cm2_s: ArrayLike,
    carrier_density_per_cm3: float | tuple[float, float],
    T_K: ArrayLike,
    haven_ratio: float = 1.0,
    charge: int = 1,
) -> np.ndarray | float:
    """Conductivity (S/cm) from the tracer diffusion coefficient (cm²/s).

    ``sigma = n (z e)^2 D / (k_B T H_R)``; with n in 1/cm³ and D in cm²/s the SI factors
    give S/cm directly (C² cm⁻¹ s⁻¹ J⁻¹ = S/cm). Arrays broadcast.

    Parameters
    ----------
    carrier_density_per_cm3:
        Carrier number density (1/cm³), or a pair ``(n_carriers, volume_angstrom3)``.
    """
    if isinstance(carrier_density_per_cm3, tuple):
        carrier_density_per_cm3 = number_density_per_cm3(*carrier_density_per_cm3)
    D = np.asarray(D_cm2_s, dtype=float)
    T = np.asarray(T_K, dtype=float)
    if np.any(T <= 0) or carrier_density_per_cm3 <= 0 or haven_ratio <= 0:
        raise ThioglassError("temperature, carrier density and Haven ratio must be positive")
    sigma = carrier_density_per_cm3 * (charge * ELEMENTARY_CHARGE_C) ** 2 * D / (BOLTZMANN_J_K * T * haven_ratio)
    return float(sigma) if sigma.ndim == 0 else sigma


def to_mS_cm(sigma_S_cm: ArrayLike) -> np.ndarray | float:
    """S/cm to mS/cm."""
    out = np.asarray(sigma_S_cm, dtype=float) * 1000.0
    return float(out) if out.ndim == 0 else out


def _weighted_line(x: np.ndarray, y: np.ndarray, y_err: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit y = a + b x; returns ([a, b], covariance, chi2 per degree of freedom)."""
    design = np.column_stack([np.ones_like(x), x])
    w = np.ones_like(y) if y_err is None else 1.0 / y_err**2
    normal = design.T @ (design * w[:, None])
    params = np.linalg.solve(normal, design.T @ (w * y))
    resid = y - design @ params
    dof = y.size - 2
    chi2_red = float(np.sum(w * resid**2) / dof) if dof > 0 else float("nan")
    cov = np.linalg.inv(normal)
    # Without given errors the scatter about the line sets the scale.
    return params, (cov * chi2_red if y_err is None else cov), chi2_red


def arrhenius_fit(
    T_K: ArrayLike,
    values: ArrayLike,
    errors: ArrayLike | None = None,
    *,
    quantity: str = "D",
    target_T_K: float = 300.0,
    carrier_density_per_cm3: float | None = None,
) -> dict:
    """Arrhenius fit and extrapolation.

    ``quantity="D"`` (the paper's choice) fits ``ln D = ln D0 - Ea / (k_B T)`` with D in
    cm²/s; ``quantity="sigma"`` fits ``ln(sigma T) = ln A - Ea / (k_B T)`` with sigma in S/cm
    (sigma T, not sigma, is Arrhenius because sigma = n e² D / (k_B T)). The line is fitted in
    1/T by weighted least squares with ``errors/values`` as the error of the logarithm; with
    no errors the scatter about the line sets the uncertainty (needs 3 temperatures or more).
    Extrapolated values carry the full parameter covariance (delta method in log space).

    Parameters
    ----------
    carrier_density_per_cm3:
        Li number density at ``target_T_K``; with ``quantity="D"`` it converts the
        extrapolated D to a conductivity by Nernst-Einstein.

    Returns
    -------
    dict
        JSON-ready: ``quantity``, ``Ea_eV``, ``Ea_std_eV``, ``Ea_kJ_mol``, ``Ea_std_kJ_mol``,
        ``ln_prefactor``, ``ln_prefactor_std``, ``prefactor`` (D0 in cm²/s or A in S K/cm),
        ``target_T_K``, ``D_cm2_s``/``sigma_S_cm`` at the target with ``*_std`` and a
        68 % interval (``*_low``, ``*_high``), ``sigma_mS_cm`` when known, ``chi2_reduced``.
    """
    if quantity not in ("D", "sigma"):
        raise ThioglassError(f"quantity {quantity!r} is unknown; use 'D' or 'sigma'")
    T = np.asarray(T_K, dtype=float)
    v = np.asarray(values, dtype=float)
    if T.ndim != 1 or T.shape != v.shape or T.size < 2 or np.unique(T).size < 2:
        raise ThioglassError("give values at two or more different temperatures (1D arrays of equal length)")
    if np.any(T <= 0) or np.any(v <= 0) or target_T_K <= 0:
        raise ThioglassError("temperatures and values must be positive for an Arrhenius fit (ln of them is fitted)")
    y_err = None
    if errors is not None:
        e = np.asarray(errors, dtype=float)
        if e.shape != v.shape or np.any(e <= 0):
            raise ThioglassError("errors must be positive and have one entry per temperature")
        y_err = e / v
    elif T.size < 3:
        raise ThioglassError("with no errors an Arrhenius fit needs 3 or more temperatures to estimate its uncertainty")
    y = np.log(v) if quantity == "D" else np.log(v * T)
    (a, b), cov, chi2 = _weighted_line(1.0 / T, y, y_err)
    g = np.array([1.0, 1.0 / target_T_K])
    ln_target, ln_std = a + b / target_T_K, float(np.sqrt(g @ cov @ g))
    ea, ea_std = -b * BOLTZMANN_EV_K, float(np.sqrt(cov[1, 1]) * BOLTZMANN_EV_K)
    out = {
        "quantity": quantity,
        "Ea_eV": float(ea),
        "Ea_std_eV": ea_std,
        "Ea_kJ_mol": float(ea * EV_TO_KJ_MOL),
        "Ea_std_kJ_mol": ea_std * EV_TO_KJ_MOL,
        "ln_prefactor": float(a),
        "ln_prefactor_std": float(np.sqrt(cov[0, 0])),
        "prefactor": float(np.exp(a)),
        "target_T_K": float(target_T_K),
        "chi2_reduced": None if np.isnan(chi2) else chi2,
        "n_points": int(T.size),
    }
    if quantity == "D":
        _store(out, "D_cm2_s", ln_target, ln_std, 1.0)
        if carrier_density_per_cm3 is not None:
            factor = nernst_einstein(1.0, carrier_density_per_cm3, target_T_K)
            _store(out, "sigma_S_cm", ln_target, ln_std, factor)
    else:
        _store(out, "sigma_S_cm", ln_target, ln_std, 1.0 / target_T_K)
    if "sigma_S_cm" in out:
        out["sigma_mS_cm"] = out["sigma_S_cm"] * 1000.0
        out["sigma_std_mS_cm"] = out["sigma_S_cm_std"] * 1000.0
    return out


def _store(out: dict, key: str, ln_value: float, ln_std: float, factor: float) -> None:
    value = float(np.exp(ln_value) * factor)
    out[key] = value
    out[f"{key}_std"] = value * ln_std
    out[f"{key}_low"] = float(np.exp(ln_value - ln_std) * factor)
    out[f"{key}_high"] = float(np.exp(ln_value + ln_std) * factor)
