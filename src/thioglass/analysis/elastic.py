"""Elastic tensor by finite strains and its Voigt-Reuss-Hill averages (the paper's section 2.3).

Pure kernels (strains, stress differences, VRH); the routes that produce the stresses live in
:mod:`thioglass.properties.elastic_static` (relaxations) and :mod:`thioglass.properties.elastic` (MD).

Conventions
-----------
* Voigt order is ASE's: 1=xx, 2=yy, 3=zz, 4=yz, 5=xz, 6=xy.
* Strains are Voigt *engineering* strains: for a shear direction (4, 5, 6) a strain ``e``
  means the tensor component ``eps_yz = eps_zy = e / 2`` (shear angle ``gamma = e``), so
  ``sigma_4 = C_44 * e`` and ``S = C^-1`` carries the usual factors (``S_44 = 1 / C_44`` for an
  isotropic solid). This is the convention of the paper's VRH formulas and of pymatgen.
* Stresses are in GPa and **positive in tension**, which is ASE's sign (``atoms.get_stress()``
  is ``(1/V) dE/d(eps)``): stretching a solid raises its stress, so ``C = d sigma / d eps``
  comes out positive without a sign flip. VASP/LAMMPS "pressure" output has the opposite sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from thioglass.errors import ThioglassError

#: Index pairs of the 3x3 tensor for each Voigt component (0-based), ASE order.
VOIGT_PAIRS: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))

#: Reciprocal of the largest condition number of C accepted as invertible.
_RCOND_MIN = 1e-12


class StrainedCell(NamedTuple):
    """One deformation of the finite-strain set.

    ``cell`` is the strained cell (rows are lattice vectors, Angstrom):
    ``cell = reference_cell @ deformation.T``.
    """

    voigt_index: int
    sign: int
    deformation: np.ndarray
    cell: np.ndarray


@dataclass(frozen=True)
class ElasticTensorResult:
    """Stiffness from stress differences.

    Attributes
    ----------
    C_GPa:
        Symmetrised 6x6 stiffness (GPa).
    C_err_GPa:
        One-sigma uncertainty of each element (GPa) when stress uncertainties were given,
        else ``None``.
    asymmetry_GPa:
        ``max |C_raw - C_raw^T| / 2`` before symmetrisation (GPa): a check of linearity,
        convergence and noise.
    """

    C_GPa: np.ndarray
    C_err_GPa: np.ndarray | None
    asymmetry_GPa: float


def strain_tensor(voigt_index: int, strain: float) -> np.ndarray:
    """Symmetric 3x3 strain tensor of one Voigt engineering strain (shear split in halves)."""
    i, j = VOIGT_PAIRS[voigt_index]
    eps = np.zeros((3, 3))
    value = strain if i == j else strain / 2.0
    eps[i, j] = eps[j, i] = value
    return eps


def strained_cells(cell: ArrayLike, strain: float) -> list[StrainedCell]:
    """The 12 deformations: plus and minus ``strain`` in each of the 6 Voigt directions.

    The deformation gradient is ``F = I + eps`` with ``eps`` symmetric (no rigid rotation);
    central differences cancel its second-order (Green-Lagrange) part to O(strain^2).

    Parameters
    ----------
    cell:
        Reference cell, 3x3, rows are lattice vectors (Angstrom).
    strain:
        Engineering strain magnitude (dimensionless).
    """
    cell = np.asarray(cell, dtype=float)
    if cell.shape != (3, 3) or abs(np.linalg.det(cell)) < 1e-8:
        raise ThioglassError("the cell must be a non-degenerate 3x3 matrix; give a periodic 3D structure")
    out = []
    for index in range(6):
        for sign in (1, -1):
            deformation = np.eye(3) + strain_tensor(index, sign * strain)
            out.append(StrainedCell(index, sign, deformation, cell @ deformation.T))
    return out


def _mean_and_sem(stress: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean stresses (6, 6) and their standard error (or None) from (6, 6) or (6, n, 6)."""
    if stress.ndim == 2 and stress.shape == (6, 6):
        return stress, None
    if stress.ndim == 3 and stress.shape[0] == 6 and stress.shape[2] == 6 and stress.shape[1] >= 2:
        n = stress.shape[1]
        return stress.mean(axis=1), stress.std(axis=1, ddof=1) / np.sqrt(n)
    raise ThioglassError(
        f"{name} has shape {stress.shape}; expected (6, 6) mean Voigt stresses per strain direction "
        "or (6, n_samples >= 2, 6) samples"
    )


def elastic_tensor_from_stresses(
    stress_plus: ArrayLike,
    stress_minus: ArrayLike,
    strain: float,
    stress_plus_err: ArrayLike | None = None,
    stress_minus_err: ArrayLike | None = None,
) -> ElasticTensorResult:
    """``C_ij = (sigma_i(+eps_j) - sigma_i(-eps_j)) / (2 eps)``, symmetrised.

    Parameters
    ----------
    stress_plus, stress_minus:
        Voigt stresses in GPa, positive in tension, row ``j`` for strain direction ``j``:
        shape (6, 6), or (6, n_samples, 6) for several samples per strain (e.g. block averages
        of the stress along an MD run at temperature), whose mean is used and whose standard
        error of the mean gives the uncertainty. Samples must be uncorrelated: pass block
        averages over blocks longer than the stress autocorrelation time.
    strain:
        Engineering strain magnitude used for both signs.
    stress_plus_err, stress_minus_err:
        Optional one-sigma uncertainties of the (6, 6) means, GPa (ignored for samples).
    """
    if not strain > 0:
        raise ThioglassError(f"strain must be positive, got {strain}")
    plus, plus_err = _mean_and_sem(np.asarray(stress_plus, dtype=float), "stress_plus")
    minus, minus_err = _mean_and_sem(np.asarray(stress_minus, dtype=float), "stress_minus")
    if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
        raise ThioglassError("stresses contain NaN or inf; check the calculator or the MD run")
    if plus_err is None and stress_plus_err is not None:
        plus_err = np.broadcast_to(np.asarray(stress_plus_err, dtype=float), (6, 6))
    if minus_err is None and stress_minus_err is not None:
        minus_err = np.broadcast_to(np.asarray(stress_minus_err, dtype=float), (6, 6))
    # Row j of the inputs is strain direction j; C_ij needs stress component i in row i.
    raw = ((plus - minus) / (2.0 * strain)).T
    err = None
    if plus_err is not None or minus_err is not None:
        var = np.zeros((6, 6))
        for e in (plus_err, minus_err):
            if e is not None:
                var += np.square(e)
        raw_err = np.sqrt(var).T / (2.0 * strain)
        # Symmetrising averages two independent estimates; diagonal elements are unchanged.
        err = np.sqrt(raw_err**2 + raw_err.T**2) / 2.0
        np.fill_diagonal(err, np.diag(raw_err))
    asymmetry = float(np.max(np.abs(raw - raw.T)) / 2.0)
    return ElasticTensorResult(C_GPa=(raw + raw.T) / 2.0, C_err_GPa=err, asymmetry_GPa=asymmetry)


def _check_stiffness(C: ArrayLike) -> np.ndarray:
    C = np.asarray(C, dtype=float)
    if C.shape != (6, 6) or not np.all(np.isfinite(C)):
        raise ThioglassError("the elastic tensor must be a finite 6x6 Voigt matrix in GPa")
    norm = np.linalg.norm(C, 2)
    if norm == 0 or np.linalg.cond(C) * _RCOND_MIN > 1:
        raise ThioglassError(
            "the elastic tensor is singular, so the compliance S = C^-1 does not exist; "
            "check the strain size and that the stresses respond to every strain direction"
        )
    return C


def vrh(C: ArrayLike) -> dict:
    """Voigt, Reuss and Hill bulk and shear moduli, Young's modulus and Poisson's ratio.

    Formulas of the paper's section 2.3, with E = 9BG/(3B+G) (= 1/(1/(3G) + 1/(9B))) and
    nu = (3B - 2G) / (2(3B + G)) (= (1 - 3G/(3B+G)) / 2) from the Hill averages.

    Parameters
    ----------
    C:
        6x6 stiffness in GPa, Voigt engineering convention (module docstring).

    Returns
    -------
    dict
        JSON-ready: ``C_GPa``, ``S_inv_GPa`` (compliance, 1/GPa), ``bulk_modulus_{voigt,reuss,vrh}_GPa``,
        ``shear_modulus_{voigt,reuss,vrh}_GPa``, ``youngs_modulus_GPa``, ``poisson_ratio``,
        ``mechanically_stable`` (all eigenvalues of C positive, Born criterion).
    """
    C = _check_stiffness(C)
    S = np.linalg.inv(C)
    diag, off = np.trace(C[:3, :3]), C[0, 1] + C[0, 2] + C[1, 2]
    s_diag, s_off = np.trace(S[:3, :3]), S[0, 1] + S[0, 2] + S[1, 2]
    b_v = (diag + 2.0 * off) / 9.0
    g_v = (diag - off + 3.0 * np.trace(C[3:, 3:])) / 15.0
    b_r = 1.0 / (s_diag + 2.0 * s_off)
    g_r = 15.0 / (4.0 * s_diag - 4.0 * s_off + 3.0 * np.trace(S[3:, 3:]))
    b, g = (b_v + b_r) / 2.0, (g_v + g_r) / 2.0
    return {
        "C_GPa": C.tolist(),
        "S_inv_GPa": S.tolist(),
        "bulk_modulus_voigt_GPa": float(b_v),
        "bulk_modulus_reuss_GPa": float(b_r),
        "bulk_modulus_vrh_GPa": float(b),
        "shear_modulus_voigt_GPa": float(g_v),
        "shear_modulus_reuss_GPa": float(g_r),
        "shear_modulus_vrh_GPa": float(g),
        "youngs_modulus_GPa": float(9.0 * b * g / (3.0 * b + g)),
        "poisson_ratio": float((3.0 * b - 2.0 * g) / (2.0 * (3.0 * b + g))),
        "mechanically_stable": bool(np.all(np.linalg.eigvalsh((C + C.T) / 2.0) > 0)),
    }
