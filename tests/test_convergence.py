"""The run's convergence table reads back each stage's own criterion (issue 17, part 2)."""

from __future__ import annotations

from thioglass.workflow.convergence import convergence


def _results(*, drifts=(0.002, -0.001), density_converged=True, elastic=None, conductivity=None):
    return {"settings": {"quench": {"density_tolerance_g_cm3": 0.01}},
            "density_replicas": [{"density_drift_g_cm3": d} for d in drifts],
            "density_converged": density_converged, "elastic": elastic, "conductivity": conductivity}


def _md_elastic(b=(20.0, 1.0), g=(10.0, 1.5)):
    return {"route": "md", "settings": {"target_relative_error": 0.1},
            "bulk_modulus_vrh_GPa": b[0], "bulk_modulus_vrh_std_GPa": b[1],
            "shear_modulus_vrh_GPa": g[0], "shear_modulus_vrh_std_GPa": g[1]}


def _conductivity(regimes=("diffusive", "diffusive", "sub-diffusive"), fit=True):
    temperatures = [{"temperature_K": 400.0 + 100 * k, "regime": r, "diffusive": r == "diffusive",
                     "loglog_slope": 0.98, "duration_ps": 100.0} for k, r in enumerate(regimes)]
    arrhenius = {"Ea_eV": 0.3, "Ea_std_eV": 0.02, "n_points": sum(r == "diffusive" for r in regimes)} if fit else None
    return {"temperatures": temperatures, "arrhenius": arrhenius}


def _verdicts(out):
    return {row["quantity"]: row["converged"] for row in out["values"]}


def test_each_value_is_judged_by_its_own_criterion():
    out = convergence(_results(elastic=_md_elastic(), conductivity=_conductivity()))
    assert _verdicts(out) == {"density": True, "bulk modulus": True, "shear modulus": False,
                              "D and σ at 400 K": True, "D and σ at 500 K": True, "D and σ at 600 K": False,
                              "Ea and σ(300 K)": False}  # G carries 15 %; Ea rests on 2 of 3 temperatures
    assert out["all_converged"] is False
    assert out["not_converged"] == ["shear modulus", "D and σ at 600 K", "Ea and σ(300 K)"]
    shear = out["values"][2]
    assert "10%" in shear["criterion"] and "15%" in shear["measured"]


def test_everything_converged_and_what_cannot_be_told():
    done = convergence(_results(elastic=_md_elastic(g=(10.0, 0.5)), conductivity=_conductivity(("diffusive",) * 3)))
    assert done["all_converged"] is True and done["not_converged"] == []
    unknown = convergence(_results(density_converged=None, drifts=(None,)))
    assert _verdicts(unknown) == {"density": None, "bulk modulus": None, "shear modulus": None,
                                  "Ea and σ(300 K)": None}
    assert unknown["all_converged"] is None and "n/a" in unknown["values"][0]["measured"]


def test_the_static_route_and_a_missing_fit_are_not_converged():
    static = {"route": "static", "bulk_modulus_vrh_GPa": 31.0, "shear_modulus_vrh_GPa": 12.0}
    out = convergence(_results(density_converged=False, drifts=(0.03,), elastic=static,
                               conductivity=_conductivity(("sub-diffusive", "diffusive"), fit=False)))
    verdicts = _verdicts(out)
    assert verdicts["density"] is False and verdicts["bulk modulus"] is False and verdicts["shear modulus"] is False
    assert verdicts["Ea and σ(300 K)"] is False
    assert "0 K" in out["values"][1]["measured"] and "+0.0300" in out["values"][0]["measured"]
    assert "no Arrhenius fit" in out["values"][-1]["measured"]
