"""A long NPT run of a glass with the shipped model: the long-run stability check of issue 6.

    python training/stability_run.py STRUCTURE WORKDIR [--temperature-k 650] [--duration-ps 20]

It either finishes with every check of the LAMMPS engine passed (no lost atoms, no atoms closer than
0.6 Å, no runaway temperature or energy) or stops with the engine's one-line error; rerunning resumes.
"""

from __future__ import annotations

import argparse

from thioglass.io import read_frame
from thioglass.potential import default_model
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol, Stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("structure")
    parser.add_argument("workdir")
    parser.add_argument("--temperature-k", type=float, default=650.0)
    parser.add_argument("--duration-ps", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    atoms = read_frame(args.structure)
    protocol = Protocol((Stage("hold", "npt", args.duration_ps, args.temperature_k, dump_every_ps=1.0),), seed=5)
    result = LammpsEngine(LammpsSettings((str(default_model()),), threads=args.threads)).run(atoms, protocol, args.workdir)
    final = result.final_atoms()
    density = sum(final.get_masses()) / 6.02214076e23 / (final.get_volume() * 1e-24)
    print(f"stable: {args.duration_ps} ps at {args.temperature_k} K, {len(final)} atoms, final density {density:.3f} g/cm3")


if __name__ == "__main__":
    main()
