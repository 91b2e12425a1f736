"""Check 2: each bundled crystal at the reference's own minimum, and the model beside it.

Per crystal (the library's cell, ``out/minimum/<crystal>/``, every step cached in its own file):

1. relax positions and cell with the reference (FIRE on a Frechet cell filter);
2. the model's energy, forces and stress at that geometry, beside the reference's;
3. the model's own relaxed cell from there: lattice lengths and density against the reference's;
4. a volume scan over ±``eos_volume_range`` of the reference's cell (shape kept, positions relaxed) with
   both: the bulk modulus from E(V) (Birch-Murnaghan) and from P(V), and the smoothness of P(V)
   (:mod:`thioglass.analysis.eos`);
5. the static elastic tensor of both (:class:`thioglass.properties.elastic_static.ElasticStep`, the route of
   ``thioglass elastic``), for the crystals in ``elastic_crystals``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ase import Atoms, units

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json
from thioglass.mlff.validation.settings import ValidationSettings
from thioglass.mlff.validation.subject import Subject, calculator, crystal_list

Log = Callable[[str], None]


def cached(path: Path, compute: Callable[[], dict]) -> dict:
    """The JSON at ``path``, or ``compute()`` written there (atomically) first."""
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    write_json(path, result)
    return result


def relax(atoms: Atoms, calc: Any, *, fmax: float, max_steps: int, cell: bool) -> dict:
    """Relax ``atoms`` in place (positions, and the cell when ``cell``); returns convergence and steps."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE
    from threadpoolctl import threadpool_limits

    atoms.calc = calc
    optimizer = FIRE(FrechetCellFilter(atoms) if cell else atoms, logfile=None)
    # Threaded BLAS in the cell filter next to the model's own threads oversubscribes the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        converged = bool(optimizer.run(fmax=fmax, steps=max_steps))
    return {"converged": converged, "steps": int(optimizer.nsteps)}


def describe(atoms: Atoms) -> dict:
    """Lattice, volume, density, energy and stress of a relaxed cell (its calculator's results)."""
    from thioglass.build.crystals import density_g_cm3

    return {"cellpar": atoms.cell.cellpar().tolist(), "volume_angstrom3": float(atoms.get_volume()),
            "density_g_cm3": density_g_cm3(atoms), "energy_ev_per_atom": float(atoms.get_potential_energy() / len(atoms)),
            "stress_gpa": (atoms.get_stress(voigt=True) / units.GPa).tolist()}


def relaxed(path: Path, start: Atoms, calc: Any, settings: ValidationSettings) -> tuple[Atoms, dict]:
    """A full relaxation from ``start``, cached as ``path`` (extxyz) beside ``path.json``."""
    from ase.io import read, write

    record = path.with_suffix(".json")
    if record.exists() and path.exists():
        atoms = read(path, format="extxyz")
        atoms.calc = calc
        return atoms, json.loads(record.read_text())
    atoms = start.copy()
    info = relax(atoms, calc, fmax=settings.relax_fmax_ev_per_angstrom, max_steps=settings.relax_max_steps, cell=True)
    info |= describe(atoms)
    plain = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=True)
    write(path, plain, format="extxyz")
    write_json(record, info)
    return atoms, info


def at_geometry(atoms: Atoms, model: Any, reference: Any) -> dict:
    """Model and reference energy, forces and stress at one geometry."""
    values = {}
    for name, calc in (("model", model), ("reference", reference)):
        work = atoms.copy()
        work.calc = calc
        values[name] = (work.get_potential_energy() / len(work), work.get_forces(), work.get_stress() / units.GPa)
    (e_m, f_m, s_m), (e_r, f_r, s_r) = values["model"], values["reference"]
    return {"energy_model_ev_per_atom": float(e_m), "energy_reference_ev_per_atom": float(e_r),
            "energy_difference_mev_per_atom": float(1000 * (e_m - e_r)),
            "force_rmse_ev_per_angstrom": float(np.sqrt(np.mean((f_m - f_r) ** 2))),
            "max_force_model_ev_per_angstrom": float(np.linalg.norm(f_m, axis=1).max()),
            "stress_model_gpa": s_m.tolist(), "stress_reference_gpa": s_r.tolist(),
            "pressure_model_gpa": float(-s_m[:3].mean()), "pressure_reference_gpa": float(-s_r[:3].mean())}


def lattice_comparison(model: dict, reference: dict, settings: ValidationSettings) -> dict:
    """Percent deviation of each lattice length and of the density; passes when the model's relaxation
    converged with every length and the density within their tolerances."""
    lengths = [100 * (m / r - 1) for m, r in zip(model["cellpar"][:3], reference["cellpar"][:3])]
    density = 100 * (model["density_g_cm3"] / reference["density_g_cm3"] - 1)
    within = (max(abs(x) for x in lengths) <= settings.lattice_tolerance_percent
              and abs(density) <= settings.density_tolerance_percent)
    return {"lattice_deviation_percent": lengths, "density_deviation_percent": density,
            "converged": model["converged"], "passed": bool(model["converged"] and within)}


def smoothness_verdict(model: dict, reference: dict, settings: ValidationSettings) -> dict:
    """The model's P(V) must fall monotonically, with no kink above the tolerance or above
    ``reference_kink_factor`` times the reference's own kink measure, whichever is larger."""
    allowed = max(settings.kink_tolerance, settings.reference_kink_factor * reference["max_relative_slope_change"])
    return {"allowed_relative_slope_change": allowed,
            "passed": bool(model["monotonic"] and model["max_relative_slope_change"] <= allowed)}


def volume_scan(relaxed_reference: Atoms, calc: Any, settings: ValidationSettings) -> dict:
    """Energies and pressures of the reference's cell scaled isotropically, positions relaxed at each volume."""
    from thioglass.analysis.eos import fit_energy_volume, fit_pressure_volume, pressure_smoothness

    volumes, energies, pressures, converged = [], [], [], []
    for strain in np.linspace(-settings.eos_volume_range, settings.eos_volume_range, settings.eos_points):
        atoms = relaxed_reference.copy()
        atoms.set_cell(atoms.cell * (1 + strain) ** (1 / 3), scale_atoms=True)
        info = relax(atoms, calc, fmax=settings.relax_fmax_ev_per_angstrom, max_steps=settings.relax_max_steps,
                     cell=False)
        volumes.append(float(atoms.get_volume()))
        energies.append(float(atoms.get_potential_energy()))
        pressures.append(float(-atoms.get_stress(voigt=True)[:3].mean() / units.GPa))
        converged.append(info["converged"])
    n = len(relaxed_reference)
    return {"volumes_angstrom3_per_atom": [v / n for v in volumes], "energies_ev_per_atom": [e / n for e in energies],
            "pressures_gpa": pressures, "positions_converged": converged,
            "fit": fit_energy_volume(volumes, energies), "pressure_fit": fit_pressure_volume(volumes, pressures),
            "smoothness": pressure_smoothness(volumes, pressures, kink_tolerance=settings.kink_tolerance)}


def elastic(relaxed_reference: Atoms, calc: Any, settings: ValidationSettings) -> dict:
    """Static elastic tensor (relax, ±strain, stress); a relaxation that fails is recorded, not raised."""
    from threadpoolctl import threadpool_limits

    from thioglass.properties.elastic_static import ElasticSettings, ElasticStep

    step = ElasticStep(ElasticSettings(strain=settings.elastic_strain, max_steps=settings.relax_max_steps))
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            result = step.calc(relaxed_reference, calc)
    except ThioglassError as err:
        return {"error": str(err)}
    return {key: result[key] for key in ("C_GPa", "bulk_modulus_vrh_GPa", "shear_modulus_vrh_GPa",
                                         "youngs_modulus_GPa", "poisson_ratio") if key in result}


def _within(model: float | None, reference: float | None, tolerance_percent: float) -> dict:
    if model is None or reference is None or not reference:
        return {"deviation_percent": None, "passed": False}
    deviation = 100 * (model / reference - 1)
    return {"deviation_percent": float(deviation), "passed": bool(abs(deviation) <= tolerance_percent)}


def bulk_modulus_verdict(scans: dict, settings: ValidationSettings) -> dict:
    """B of the model within tolerance of the reference's, both from E(V) and from P(V): the two agree for
    a smooth landscape and part where the model's relaxations at neighbouring volumes end in different
    minima, which is a failure too."""
    out = {}
    for key, fit in (("energy", "fit"), ("pressure", "pressure_fit")):
        out[key] = _within(scans["model"].get(fit, {}).get("bulk_modulus_gpa"),
                           scans["reference"].get(fit, {}).get("bulk_modulus_gpa"), settings.bulk_modulus_tolerance_percent)
    return {**out, "passed": all(part["passed"] for part in out.values())}


def crystal_at_minimum(name: str, subject: Subject, settings: ValidationSettings, out: Path, threads: int,
                       with_elastic: bool) -> dict:
    """Every step of check 2 for one crystal (each cached under ``out/minimum/<name>/``)."""
    from thioglass.analysis.eos import fit_pressure_volume
    from thioglass.build.crystals import load_crystal

    folder = out / "minimum" / name
    folder.mkdir(parents=True, exist_ok=True)
    model, reference = calculator(subject.model, threads), calculator(subject.reference, threads)
    ref_atoms, ref_info = relaxed(folder / "reference-relaxed.extxyz", load_crystal(name), reference, settings)
    geometry = cached(folder / "model-at-reference.json", lambda: at_geometry(ref_atoms, model, reference))
    _, model_info = relaxed(folder / "model-relaxed.extxyz", ref_atoms, model, settings)
    scans = {who: cached(folder / f"eos-{who}.json", lambda calc=calc: volume_scan(ref_atoms, calc, settings))
             for who, calc in (("reference", reference), ("model", model))}
    for scan in scans.values():  # scans cached before the P(V) fit existed
        if "pressure_fit" not in scan:
            scan["pressure_fit"] = fit_pressure_volume([v * len(ref_atoms) for v in scan["volumes_angstrom3_per_atom"]],
                                                       scan["pressures_gpa"])
    result = {"crystal": name, "atoms": len(ref_atoms), "reference_relaxed": ref_info, "model_relaxed": model_info,
              "at_reference_minimum": geometry, "eos": scans,
              "lattice": lattice_comparison(model_info, ref_info, settings),
              "eos_bulk_modulus": bulk_modulus_verdict(scans, settings),
              "eos_smooth": smoothness_verdict(scans["model"]["smoothness"], scans["reference"]["smoothness"],
                                               settings)}
    if with_elastic:
        tensors = {who: cached(folder / f"elastic-{who}.json", lambda calc=calc: elastic(ref_atoms, calc, settings))
                   for who, calc in (("reference", reference), ("model", model))}
        result["elastic"] = tensors
        result["elastic_bulk_modulus"] = _within(tensors["model"].get("bulk_modulus_vrh_GPa"),
                                                 tensors["reference"].get("bulk_modulus_vrh_GPa"),
                                                 settings.bulk_modulus_tolerance_percent)
        result["elastic_shear_modulus"] = _within(tensors["model"].get("shear_modulus_vrh_GPa"),
                                                  tensors["reference"].get("shear_modulus_vrh_GPa"),
                                                  settings.shear_modulus_tolerance_percent)
    return result


def run_minimum(subject: Subject, settings: ValidationSettings, out: Path, *, threads: int, client: Any,
                log: Log) -> dict:
    """Check 2 for every crystal of ``minimum_crystals`` (cached in ``out/minimum.json``); a crystal whose
    steps fail is recorded with its error."""
    from thioglass.md.jobs import CallJob, run_jobs

    path = out / "minimum.json"
    if path.exists():
        return json.loads(path.read_text())
    names = crystal_list(settings.minimum_crystals, subject)
    elastic_names = set(crystal_list(settings.elastic_crystals, subject))
    log(f"crystals at the reference's minimum: {', '.join(names)}")
    jobs = [CallJob(name, crystal_at_minimum, (name, subject, settings, out, threads, name in elastic_names))
            for name in names]
    outcome = run_jobs(jobs, client, on_done=lambda name, _: log(f"  {name} done"))
    outcome.raise_unexpected()
    result = {"crystals": outcome.results, "failed": outcome.messages()}
    write_json(path, result)
    return result
