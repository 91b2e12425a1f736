"""Choose a reference on evidence: relax the bundled crystals with each reference model and compare
their densities with experiment."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class RelaxSettings:
    """Full relaxation (positions and cell) with FIRE on a Frechet cell filter."""

    fmax_ev_per_angstrom: float = 0.02
    max_steps: int = 300


@dataclass(frozen=True)
class CrystalComparison:
    """One reference on one crystal."""

    reference: str
    crystal: str
    density_g_cm3: float
    literature_density_g_cm3: float
    deviation_percent: float
    volume_change_percent: float
    converged: bool
    steps: int
    seconds: float


def relax_crystal(reference: str, crystal: str, settings: RelaxSettings = RelaxSettings()) -> CrystalComparison:
    """Relax one bundled crystal with one reference and compare its density with experiment."""
    import time

    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    from thioglass.analysis.density import density_g_cm3
    from thioglass.build.crystals import crystal_info, load_crystal
    from thioglass.reference.calculators import cached_calculator

    info = crystal_info(crystal)
    atoms = load_crystal(crystal)
    volume0 = atoms.get_volume()
    atoms.calc = cached_calculator(reference)
    start = time.perf_counter()
    optimizer = FIRE(FrechetCellFilter(atoms), logfile=None)
    converged = bool(optimizer.run(fmax=settings.fmax_ev_per_angstrom, steps=settings.max_steps))
    density = density_g_cm3(atoms)
    return CrystalComparison(reference, info.name, density, info.literature_density_g_cm3,
                             100 * (density / info.literature_density_g_cm3 - 1),
                             float(100 * (atoms.get_volume() / volume0 - 1)), converged, int(optimizer.nsteps),
                             time.perf_counter() - start)


def compare_references(references: Sequence[str], crystals: Sequence[str], client: Any = None,
                       settings: RelaxSettings = RelaxSettings()) -> dict:
    """Every reference on every crystal; per reference the mean absolute density deviation (%)."""
    from thioglass.md.jobs import CallJob, run_jobs

    jobs = [CallJob(f"{r} {c}", relax_crystal, (r, c, settings)) for r in references for c in crystals]
    outcome = run_jobs(jobs, client)
    outcome.raise_first()  # the table needs every cell
    rows = list(outcome.results.values())
    summary = {}
    for reference in references:
        mine = [row for row in rows if row.reference == reference]
        deviations = np.array([row.deviation_percent for row in mine])
        summary[reference] = {"mean_abs_density_deviation_percent": float(np.abs(deviations).mean()),
                              "max_abs_density_deviation_percent": float(np.abs(deviations).max()),
                              "all_converged": all(row.converged for row in mine),
                              "seconds": float(sum(row.seconds for row in mine))}
    best = min(summary, key=lambda r: summary[r]["mean_abs_density_deviation_percent"])
    return {"rows": [asdict(row) for row in rows], "summary": summary, "best": best,
            "settings": asdict(settings)}


def markdown_table(result: dict) -> str:
    """The comparison as a Markdown table (crystals as rows, references as columns, % deviation)."""
    references = list(result["summary"])
    crystals = list(dict.fromkeys(row["crystal"] for row in result["rows"]))
    cell = {(row["reference"], row["crystal"]): row for row in result["rows"]}
    lines = ["| crystal | expt g/cm³ | " + " | ".join(references) + " |",
             "|---|---|" + "---|" * len(references)]
    for crystal in crystals:
        first = cell[(references[0], crystal)]
        values = [f"{cell[(r, crystal)]['density_g_cm3']:.3f} ({cell[(r, crystal)]['deviation_percent']:+.1f} %)"
                  + ("" if cell[(r, crystal)]["converged"] else " *") for r in references]
        lines.append(f"| {crystal} | {first['literature_density_g_cm3']:.2f} | " + " | ".join(values) + " |")
    lines.append("| mean abs deviation | | " + " | ".join(
        f"{result['summary'][r]['mean_abs_density_deviation_percent']:.1f} %" for r in references) + " |")
    return "\n".join(lines)
