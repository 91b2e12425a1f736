"""Where does a member's energy go wrong? Mean energy error (the bias), energy RMSE and force RMSE of a model
per label file and per formula, on every EVERY-th frame (default 3) of each file.

    EVERY=4 python training/experiments/fit_bias.py MODEL.pb training/seed-sevennet-l3i5.extxyz.gz ...

A bias close to the RMSE means the model puts those frames at one wrong energy level (training/README.md,
"Energy offset of the stage-3 members").
"""
import collections
import os
import sys

import numpy as np
from deepmd.infer import DeepPot

from thioglass.elements import TYPE_MAP
from thioglass.mlff.dataset import read_labelled

every = int(os.environ.get("EVERY", "3"))
model = DeepPot(sys.argv[1])
rows = collections.defaultdict(list)
for path in sys.argv[2:]:
    source = os.path.basename(path).split(".")[0]
    for k, (atoms, label) in enumerate(read_labelled(path)):
        if k % every:
            continue
        types = [TYPE_MAP.index(s) for s in atoms.get_chemical_symbols()]
        e, f, _ = model.eval(atoms.positions.reshape(1, -1), atoms.cell[:].reshape(1, -1), types)
        de = (float(e.ravel()[0]) - label.energy_ev) / len(atoms) * 1000
        ref = np.asarray(label.forces_ev_per_angstrom).ravel()
        df = f.ravel() - ref
        # the parity slope's sums (a fit through the origin): below 1, the model's surface is flatter
        rows[(source, atoms.get_chemical_formula())].append((de, float(np.mean(df ** 2)),
                                                             float(f.ravel() @ ref), float(ref @ ref)))
print(f"{'labels':32s} {'formula':16s} {'n':>4s} {'bias':>7s} {'E rmse':>7s} {'F rmse':>6s} {'slope':>5s}  (meV/atom, eV/Å)")
for (source, formula), r in sorted(rows.items()):
    r = np.array(r)
    print(f"{source[:32]:32s} {formula:16s} {len(r):4d} {r[:, 0].mean():+7.1f} {np.sqrt((r[:, 0] ** 2).mean()):7.1f} "
          f"{np.sqrt(r[:, 1].mean()):6.3f} {r[:, 2].sum() / r[:, 3].sum():5.2f}")
