"""Per-system energy and force errors of DeePMD models against reference labels of the tagged audit frames.

    thioglass label training/audit-frames.extxyz --store work/iter0/l3i5-audit --reference sevennet-l3i5
    thioglass label --store work/iter0/l3i5-audit --export work/iter0/l3i5-audit.extxyz
    python training/per_system_check.py work/iter0/l3i5-audit.extxyz MODEL.pb [MODEL2.pb ...]

The label export keeps only each frame's key, so the system and kind tags are read back from
training/audit-frames.extxyz by key. ΔE is the model's energy minus the label's, per atom (meV); the force
RMSE is over every component of the group's frames (eV/Å).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.io import read

from thioglass.elements import TYPE_MAP
from thioglass.reference.label import frame_key


def per_system(model: str, labelled: list, tags: dict) -> dict[tuple[str, str], dict]:
    from deepmd.infer import DeepPot

    dp = DeepPot(model)
    groups: dict[tuple[str, str], list] = {}
    for atoms in labelled:
        info = tags.get(atoms.info.get("frame_key"), {})
        types = [TYPE_MAP.index(s) for s in atoms.get_chemical_symbols()]
        energy, forces, _ = dp.eval(atoms.positions.reshape(1, -1), atoms.cell[:].reshape(1, -1), types)
        delta_e = (float(energy[0, 0]) - atoms.get_potential_energy()) / len(atoms) * 1000
        groups.setdefault((info.get("system", "?"), info.get("kind", "?")), []).append(
            (delta_e, forces[0] - atoms.get_forces()))
    return {key: {"frames": len(rows), "delta_e_mev_per_atom": float(np.mean([r[0] for r in rows])),
                  "force_rmse_ev_per_angstrom": float(np.sqrt(np.mean(np.concatenate([r[1].ravel() for r in rows]) ** 2)))}
            for key, rows in sorted(groups.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--frames", type=Path, default=Path("training/audit-frames.extxyz"))
    args = parser.parse_args()
    tags = {frame_key(a): a.info for a in read(args.frames, ":")}
    labelled = read(args.labels, ":")
    for model in args.models:
        print(model)
        for (system, kind), row in per_system(model, labelled, tags).items():
            print(f"  {system:28s} {kind:18s} {row['frames']:3d} frames  ΔE {row['delta_e_mev_per_atom']:+8.1f} meV/atom"
                  f"  force RMSE {row['force_rmse_ev_per_angstrom']:.3f} eV/Å")


if __name__ == "__main__":
    main()
