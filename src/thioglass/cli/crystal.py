"""``thioglass crystal``: list the crystal library or write one crystal (optionally a supercell)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def crystal(
    name: Optional[str] = typer.Argument(None, help="Crystal name from --list, e.g. beta-Li3PS4 or Li10SiP2S12."),
    list_: bool = typer.Option(False, "--list", help="Show the crystals of the library and their sources."),
    supercell: str = typer.Option("1x1x1", "--supercell", help="Repetitions along a, b, c, e.g. 2x2x2."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Output file: .extxyz/.xyz, .data/.lmp, .vasp/POSCAR, .cif."
    ),
) -> None:
    """Show the crystal library (--list) or write crystal NAME to a file (-o)."""
    from thioglass.errors import ThioglassError

    if list_:
        _print_table()
        return
    if name is None or output is None:
        raise ThioglassError("give a crystal NAME and -o FILE (thioglass crystal Li2S -o li2s.extxyz), or use --list")
    _write(name, supercell, output)


def _print_table() -> None:
    import re

    from rich.console import Console
    from rich.table import Table

    from thioglass.build.crystals import list_crystals

    table = Table(title="thioglass crystal library")
    for column in ("name", "formula", "space group", "atoms", "density g/cm3 (cell / lit.)", "source"):
        table.add_column(column, overflow="fold")
    for info in list_crystals():
        table.add_row(
            info.name,
            info.formula,
            info.space_group,
            str(_atom_count(info.name)),
            f"{info.density_g_cm3:.3f} / {info.literature_density_g_cm3:.3f}",
            re.split(r"[,;(]", info.source)[0].strip(),
        )
    console = Console()
    console.print(table)
    console.print("Full sources and notes: SOURCES.md in thioglass/data/structures.")


def _atom_count(name: str) -> int:
    from thioglass.build.crystals import load_crystal

    return len(load_crystal(name))


def _write(name: str, supercell: str, output: Path) -> None:
    from rich.console import Console

    from thioglass.build.crystals import crystal_info, density_g_cm3, load_crystal, parse_supercell
    from thioglass.io.write import structure_format, write_structure
    from thioglass.runinfo import RunSummary

    structure_format(output)
    reps = parse_supercell(supercell)
    info = crystal_info(name)
    summary = RunSummary(command="crystal", inputs={"name": info.name, "supercell": list(reps), "file": info.file})
    with summary.stage("write"):
        atoms = load_crystal(info.name, reps)
        write_structure(atoms, output)
    summary.add_output("structure", output)
    summary.write(output.with_name(output.name + ".summary.json"))
    lengths = ", ".join(f"{x:.4f}" for x in atoms.cell.lengths())
    Console().print(
        f"{info.name} ({info.space_group}) x {'x'.join(map(str, reps))}: {len(atoms)} atoms, "
        f"cell {lengths} Å, density {density_g_cm3(atoms):.3f} g/cm3 -> {output}"
    )
