"""Which points of a cooling-rate and cell-size study agree with its most converged point.

The reference point is the largest cell cooled slowest. For every other point and property the
difference from the reference, ``delta``, is compared with the property's tolerance ``tol`` and with its
standard error ``err`` (the two points' standard errors over replicas, in quadrature):

- ``agrees``: ``|delta| <= tol`` and ``err <= tol`` (the difference is small and the data can tell);
- ``differs``: ``|delta| > tol`` and ``|delta| > 2 err`` (larger than the tolerance, beyond the noise);
- ``unresolved``: anything else (more replicas or longer averages would decide).

Q^n is judged on its worst species, in percentage points. The recommended point is the cheapest (quench
atom-steps per replica) whose every property agrees; the reference qualifies by definition, but is only
recommended with the note that nothing slower or larger confirms it.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from thioglass.workflow.study import PROPERTIES

_ORDER = {"agrees": 0, "unresolved": 1, "differs": 2}


def verdict(delta: float, err: float, tol: float) -> str:
    """``agrees``, ``differs`` or ``unresolved`` (module docstring); NaN inputs are unresolved."""
    if not (math.isfinite(delta) and math.isfinite(err)):
        return "unresolved"
    if abs(delta) <= tol and err <= tol:
        return "agrees"
    if abs(delta) > tol and abs(delta) > 2 * err:
        return "differs"
    return "unresolved"


def _difference(stat: dict, ref: dict, tol: float) -> dict[str, Any]:
    delta = stat["mean"] - ref["mean"]
    err = math.hypot(stat["sem"], ref["sem"])
    return {"delta": delta, "error": err, "tolerance": tol, "verdict": verdict(delta, err, tol)}


def _qn_difference(qn: dict, ref: dict, tol: float) -> dict[str, Any]:
    """The worst Q^n species of any former: the one with the worst verdict, then the largest |delta|."""
    rows = []
    for former in sorted(set(qn) | set(ref)):
        for n in sorted(set(qn.get(former, {})) | set(ref.get(former, {}))):
            zero = {"mean": 0.0, "sem": 0.0}
            row = _difference(qn.get(former, {}).get(n, zero), ref.get(former, {}).get(n, zero), tol)
            rows.append({"species": f"{former} Q{n}", **row})
    if not rows:
        return {"species": None, "delta": math.nan, "error": math.nan, "tolerance": tol, "verdict": "unresolved"}
    return max(rows, key=lambda r: (_ORDER[r["verdict"]], abs(r["delta"])))


def tolerances(settings: Any, reference: dict) -> dict[str, float]:
    """Absolute tolerance of each property: density as given, moduli as a fraction of the reference's."""
    stats = reference["stats"]
    return {"density_g_cm3": settings.density_tolerance_g_cm3,
            "bulk_modulus_GPa": settings.moduli_tolerance_fraction * abs(stats["bulk_modulus_GPa"]["mean"]),
            "shear_modulus_GPa": settings.moduli_tolerance_fraction * abs(stats["shear_modulus_GPa"]["mean"]),
            "qn": settings.qn_tolerance_percent}


def compare(points: Sequence[dict], settings: Any) -> dict[str, Any]:
    """``{"reference", "points" (each with its comparison), "recommended", "recommendation"}``."""
    reference = max(points, key=lambda p: (p["n_atoms"], -p["cooling_rate_K_per_s"]))
    tol = tolerances(settings, reference)
    out = []
    for point in points:
        if point is reference:
            out.append({**point, "comparison": {}, "verdict": "reference"})
            continue
        comparison = {key: _difference(point["stats"][key], reference["stats"][key], tol[key]) for key, _ in PROPERTIES}
        comparison["qn"] = _qn_difference(point["stats"]["qn"], reference["stats"]["qn"], tol["qn"])
        worst = max((c["verdict"] for c in comparison.values()), key=_ORDER.__getitem__)
        out.append({**point, "comparison": comparison, "verdict": worst})
    agreeing = [p for p in out if p["verdict"] in ("agrees", "reference")]
    best = min(agreeing, key=lambda p: p["quench_atom_steps_per_replica"])
    return {"reference": reference["point"], "tolerances": tol, "points": out, "recommended": best["point"],
            "recommendation": _recommendation(best, reference, out)}


def _recommendation(best: dict, reference: dict, points: list[dict]) -> str:
    unresolved = [p["point"] for p in points if p["verdict"] == "unresolved"]
    text = (f"{best['point']} is the cheapest point that agrees with the reference {reference['point']} "
            f"within every tolerance" if best["point"] != reference["point"] else
            f"no cheaper point agrees with the reference {reference['point']}; only a slower or larger point "
            "could show that it is itself converged")
    if unresolved:
        text += f"; unresolved (more replicas would decide): {', '.join(unresolved)}"
    if not reference.get("density_converged", True):
        text += "; the reference's density had not converged by the end of its anneal"
    return text
