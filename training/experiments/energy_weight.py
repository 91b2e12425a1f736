"""Is the stage-3 members' energy offset on reference-basin frames a matter of the loss weights?

Iteration 3's members put low-energy frames (the seeds: MD driven by the reference; crystals' unit cells)
35-50 meV/atom too high while fitting the loop's explored frames to within a few meV/atom (training/README.md,
"Energy offset"). This trains iteration 2's member 0 for STEPS steps exactly as the loop trained iteration 3's
member 0 (lr 1e-3 -> 1e-5, force prefactor 100 -> 1) but with the energy prefactor START_E -> LIMIT_E, on the
labels of work/learn-3 (iteration 3's data plus what was labelled since), so the two can be compared on
score_fit_audit.py and fit_bias.py.

    python training/experiments/energy_weight.py STEPS START_E LIMIT_E OUT
"""
import json, sys
from dataclasses import replace
from pathlib import Path

from thioglass.mlff.dataset import SplitSettings, write_training_sets  # the loop's own data writer
from thioglass.mlff.config import Schedule, TrainSettings, architecture
from thioglass.mlff.train import train_model

steps, start_e, limit_e, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
data_dir = Path("work/exp/data")
if not (data_dir / "systems.json").exists():
    from thioglass.reference.label import LabelStore
    data = write_training_sets(LabelStore("work/learn-3/labels"), data_dir, SplitSettings(0.05, seed=3))
    (data_dir / "systems.json").write_text(json.dumps(data))
data = json.loads((data_dir / "systems.json").read_text())
sel = tuple(json.loads(Path("work/learn-3/sel.json").read_text()))
schedule = Schedule.sized(steps, start_lr=1e-3, stop_lr=1e-5, decay_steps=max(1, steps // 10),
                          start_pref_e=start_e, limit_pref_e=limit_e, start_pref_f=100.0)
settings = TrainSettings(architecture=architecture("fast-5.5"), seed=31, sel=sel, schedule=schedule)
result = train_model(out, settings, data["train"], data["validation"], compress=False, threads=1,
                     init_model="work/learn-3/iter.002/train/model_0/frozen_model.pb")
print(result.frozen_model, result.final_rmse)
