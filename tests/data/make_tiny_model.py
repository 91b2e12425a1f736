"""Recipe for tests/data/tiny_li3ps4.pb: a small, fast DeePMD model for engine tests.

Labels: SevenNet-0 on 40 strained (±4 %) and rattled (0.03-0.15 Å) beta-Li3PS4 cells; the FAST
architecture trained for 2000 steps. It is stable for short MD near room temperature, which is all
the engine tests need; it is NOT a physical force field. Rerun with
``.venv/bin/python tests/data/make_tiny_model.py OUTDIR [SEED]`` (about 2 minutes on 2 cores).
The default SEED 1 made ``tiny_li3ps4.pb``; SEED 2 made ``tiny_li3ps4_seed2.pb``, a second ensemble member
(same labels, other initial weights) for the model-deviation tests.
"""

import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
from ase.io import read

from thioglass.mlff.config import FAST, Schedule, TrainSettings
from thioglass.mlff.dataset import write_training_sets
from thioglass.mlff.train import neighbour_sel, train_model
from thioglass.reference.label import LabelStore, label_frames

out = Path(sys.argv[1] if len(sys.argv) > 1 else "tiny_model")
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
base = read(str(files("thioglass") / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"))
rng = np.random.default_rng(0)
frames = []
for k in range(40):
    atoms = base.copy()
    atoms.set_cell(atoms.cell @ (np.eye(3) + rng.uniform(-0.04, 0.04, (3, 3))), scale_atoms=True)
    atoms.rattle(0.03 + 0.12 * k / 40, seed=k)
    frames.append(atoms)
store = LabelStore(out / "labels")
label_frames(frames, "sevennet-0", store)
folders = write_training_sets(store, out / "data")
sel = neighbour_sel(folders["train"], FAST.rcut_angstrom, ("Li", "Si", "P", "S"))
settings = TrainSettings(architecture=FAST, sel=sel, seed=seed,
                         schedule=Schedule(steps=2000, disp_freq=200, save_freq=1000, decay_steps=200))
result = train_model(out / "model", settings, folders["train"], folders["validation"], compress=False, threads=2)
print(result.frozen_model)
