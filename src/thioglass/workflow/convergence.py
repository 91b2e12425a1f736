"""Which of a run's headline values are converged, each by its stated criterion (issue 17: "say which
values are converged by these criteria and which are not").

The criteria are the ones the stages already apply, read back from the stage records, so the verdict
here can never disagree with the stage that ran on (or stopped) because of it:

- density: every replica's drift over its averaging window is not significant at 95 % and at most
  ``quench.density_tolerance_g_cm3`` (:func:`thioglass.md.quench.density_converged`);
- B and G: the MD route's jackknife error over the value at most ``elastic.target_relative_error``
  (:class:`thioglass.properties.elastic.ElasticMDStep`). The static route has no sampling error but
  is a 0 K answer to a 300 K question, so it is never called converged;
- D and sigma at each temperature: the MSD is diffusive by the fixed criterion
  (:func:`thioglass.analysis.diffusion.fit_diffusion`);
- Ea and sigma(300 K): an Arrhenius fit through every temperature run, each diffusive.

``converged`` is True, False, or None where the run cannot tell (a skipped stage, too short a window).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def convergence(results: Mapping[str, Any]) -> dict[str, Any]:
    """``results["convergence"]``: one row per headline value and whether all of them are converged."""
    rows = [_density(results), *_moduli(results.get("elastic")), *_conductivity(results.get("conductivity"))]
    verdicts = [row["converged"] for row in rows]
    return {"values": rows,
            "all_converged": None if None in verdicts else all(verdicts),
            "not_converged": [row["quantity"] for row in rows if row["converged"] is False]}


def _row(quantity: str, converged: bool | None, criterion: str, measured: str) -> dict[str, Any]:
    return {"quantity": quantity, "converged": converged, "criterion": criterion, "measured": measured}


def _density(results: Mapping[str, Any]) -> dict[str, Any]:
    tolerance = results["settings"]["quench"]["density_tolerance_g_cm3"]
    drifts = [r.get("density_drift_g_cm3") for r in results["density_replicas"]]
    measured = ", ".join("n/a" if d is None else f"{d:+.4f}" for d in drifts)
    return _row("density", results.get("density_converged"),
                f"every replica's drift over its window not significant at 95 % and at most {tolerance:g} g/cm³",
                f"drift per replica (g/cm³): {measured}")


def _moduli(elastic: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if elastic is None:
        return [_row(name, None, "the elastic stage was skipped", "—") for name in ("bulk modulus", "shear modulus")]
    if elastic.get("route") == "static":
        criterion = "the MD route at 300 K with a relative error within the target; the static route is 0 K"
        return [_row(name, False, criterion, f"{elastic[key]:.2f} GPa at 0 K (static route)")
                for name, key in (("bulk modulus", "bulk_modulus_vrh_GPa"), ("shear modulus", "shear_modulus_vrh_GPa"))]
    target = elastic["settings"]["target_relative_error"]
    rows = []
    for name, key in (("bulk modulus", "bulk_modulus_vrh"), ("shear modulus", "shear_modulus_vrh")):
        value, error = elastic[f"{key}_GPa"], elastic.get(f"{key}_std_GPa")
        relative = None if error is None or not value else abs(error / value)
        rows.append(_row(name, None if relative is None else relative <= target,
                         f"jackknife error at most {target:.0%} of the value",
                         f"{value:.2f} ± {error:.2f} GPa ({relative:.0%})" if relative is not None else f"{value:.2f} GPa"))
    return rows


def _conductivity(conductivity: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if conductivity is None:
        return [_row("Ea and σ(300 K)", None, "the conductivity stage was skipped", "—")]
    rows = [_row(f"D and σ at {t['temperature_K']:g} K", bool(t["diffusive"]),
                 "the MSD is diffusive by the fixed criterion (thioglass.analysis.diffusion)",
                 f"{t['regime']}; log-log slope {t['loglog_slope']:.2f} over {t['duration_ps']:.0f} ps"
                 if t.get("loglog_slope") is not None else str(t["regime"]))
            for t in conductivity["temperatures"]]
    arrhenius = conductivity.get("arrhenius")
    every = all(t["diffusive"] for t in conductivity["temperatures"])
    if arrhenius is None:
        measured = "no Arrhenius fit: fewer than two diffusive temperatures"
    else:
        measured = (f"Ea {arrhenius['Ea_eV']:.3f} ± {arrhenius['Ea_std_eV']:.3f} eV from {arrhenius['n_points']} of "
                    f"{len(conductivity['temperatures'])} temperatures")
    rows.append(_row("Ea and σ(300 K)", arrhenius is not None and every,
                     "an Arrhenius fit through every temperature run, each of them diffusive", measured))
    return rows
