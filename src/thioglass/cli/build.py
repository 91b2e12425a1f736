"""``thioglass build``: a random-packed glass cell with the exact stoichiometry of a composition."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def build(
    composition: str = typer.Argument(..., help="Mol % of Li2S, SiS2, P2S5, e.g. 75Li2S-25P2S5, 60Li2S-32SiS2-8P2S5."),
    atoms: int = typer.Option(..., "--atoms", "-n", help="Target number of atoms (the closest exact stoichiometry)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Output file: .extxyz/.xyz, .data/.lmp, .vasp/POSCAR, .cif."
    ),
    density: Optional[float] = typer.Option(
        None, "--density", help="Density in g/cm3 (default: ideal mixing of the crystalline components)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same cell."),
    units: str = typer.Option(
        "auto", "--units", help="auto (PS4, P2S7, SiS4, Si2S6 ... by sulfur balance), atoms, or a recipe PS4=10,P2S6=2."
    ),
    min_distance: Optional[list[str]] = typer.Option(
        None, "--min-distance", help="Override a minimum distance, e.g. --min-distance S-S=2.8 (repeatable)."
    ),
    tolerance: float = typer.Option(  # = composition.MOL_PERCENT_TOLERANCE, not imported so --help stays instant
        0.5, "--tolerance", help="Largest mol % deviation allowed when rounding to a whole-atom formula unit."
    ),
    cutoff: Optional[float] = typer.Option(
        None, "--cutoff", help="Refuse a cell thinner than twice this cutoff in Å (e.g. 6.0, the model's rcut)."
    ),
) -> None:
    """Pack a periodic cubic glass cell at random and write it with a summary JSON beside it."""
    from rich.console import Console

    from thioglass.build.distances import parse_min_distances
    from thioglass.build.glass import BuildSettings, build_glass
    from thioglass.build.units import parse_units
    from thioglass.composition import parse_composition
    from thioglass.io.write import structure_format, write_structure
    from thioglass.runinfo import RunSummary

    console = Console()
    structure_format(output)  # fail on an unknown extension before the work
    comp = parse_composition(composition)
    settings = BuildSettings(
        n_atoms=atoms,
        density_g_cm3=density,
        seed=seed,
        min_distances=parse_min_distances(min_distance or []),
        units=parse_units(units),
        cutoff_angstrom=cutoff,
        tolerance_mol_percent=tolerance,
    )
    summary = RunSummary(command="build", inputs={"composition": composition, **_plain(settings)})
    with summary.stage("build"), console.status(f"packing {comp.label} ..."):
        cell = build_glass(comp, settings=settings)
    with summary.stage("write"):
        write_structure(cell, output)
    summary.add_output("structure", output)
    report = _report(cell, comp, tolerance)
    summary.inputs["resolved"] = report  # what the defaults and rounding turned the request into
    summary_path = summary.write(output.with_name(output.name + ".summary.json"))
    for label, key in _LABELS.items():
        value = report[key]
        if isinstance(value, dict):
            value = ", ".join(f"{v:g} {k}" for k, v in value.items()) or "none"
        console.print(f"{label:>15}: {value}")
    console.print(f"wrote {output} and {summary_path}")


def _plain(settings) -> dict:
    from dataclasses import asdict

    record = asdict(settings)
    record["min_distances"] = dict(settings.min_distances)
    record["units"] = settings.units if isinstance(settings.units, str) else dict(settings.units)
    return record


_LABELS = {
    "composition": "composition",
    "formula": "formula",
    "atoms": "n_atoms",
    "achieved mol %": "achieved_mol_percent",
    "density g/cm3": "density_g_cm3",
    "cell length Å": "cell_length_angstrom",
    "units": "unit_counts",
}


def _report(cell, comp, tolerance: float) -> dict:
    import numpy as np

    from thioglass.build.crystals import density_g_cm3

    units = cell.info["unit_counts"]
    return {
        "composition": comp.label,
        "formula": cell.info["formula"],
        "n_atoms": len(cell),
        "achieved_mol_percent": {k: round(v, 4) for k, v in comp.achieved_mol_percent(tolerance).items() if v > 0},
        "density_g_cm3": round(density_g_cm3(cell), 4),
        "cell_length_angstrom": round(float(np.cbrt(cell.get_volume())), 4),
        "unit_counts": {} if units == "none" else {k: int(v) for k, v in (i.split("=") for i in units.split(","))},
    }
