"""Option types shared by the simulation commands (quench, elastic, conductivity, rotation).

Use them as annotations so every command spells an option the same way::

    def quench(composition: str, out: OutDir, potential: Potential = None, threads: Threads = 2): ...

Only typer and the standard library are imported here (``thioglass --help`` stays instant).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Potential = Annotated[
    Optional[str],
    typer.Option(
        "--potential", "-p",
        help="DeePMD model (.pb, runs in LAMMPS), a reference name (sevennet-0, chgnet-0.3.0) or "
        "ase:package.module:Class (runs in ASE MD). Default: the shipped model.",
    ),
]
Ensemble = Annotated[
    Optional[str],
    typer.Option(
        "--ensemble",
        help="Ensemble members of a --potential MODEL.pb, comma separated (m1.pb,m2.pb; same elements, other "
        "seeds): every MD stage records their force deviation and warns outside the trust window. The shipped "
        "model brings its own.",
    ),
]
Threads = Annotated[int, typer.Option("--threads", "-t", min=1, help="CPU threads for each MD run (OpenMP/torch). "
                                      "Cells of a few hundred atoms run faster on one: then give every core a "
                                      "worker (--workers 2 --threads 1 on 2 cores).")]
Workers = Annotated[
    int, typer.Option("--workers", "-w", min=1, help="Dask workers running independent jobs in parallel (1: run here).")
]
Scheduler = Annotated[
    Optional[str],
    typer.Option("--scheduler", help="Dask scheduler: tcp://host:port, or slurm/pbs/sge/lsf (default: local cluster)."),
]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder; rerunning into it resumes unfinished work.")]
Preset = Annotated[str, typer.Option("--preset", help="Protocol preset: smoke (seconds), quick (minutes) or paper.")]
Seed = Annotated[
    Optional[int], typer.Option("--seed", help="Random seed (structures, velocities); replica r uses seed + r.")
]
