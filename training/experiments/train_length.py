"""Does longer training fit the stage-3 data better? Continue iteration 1's member 0 (fast-5.5) for STEPS
more steps, lr 1e-3 -> 1e-5, then score it on the audit frames per system."""
import json, sys
from pathlib import Path
from thioglass.mlff.config import Schedule, TrainSettings, architecture
from thioglass.mlff.train import train_model

steps = int(sys.argv[1]); out = Path(sys.argv[2]); arch = sys.argv[3] if len(sys.argv) > 3 else "fast-5.5"
init = sys.argv[4] if len(sys.argv) > 4 else "work/learn-3/iter.001/train/model_0/model.ckpt"
data = json.loads(Path("work/learn-3/iter.001/data/systems.json").read_text())
sel = tuple(json.loads(Path("work/learn-3/sel.json").read_text()))
schedule = Schedule.sized(steps, start_lr=1e-3, stop_lr=1e-5, decay_steps=max(1, steps // 20), start_pref_e=0.1,
                          start_pref_f=100.0)
from dataclasses import replace
from thioglass.mlff.config import PAPER
arch_obj = replace(PAPER, rcut_angstrom=5.5, rcut_smth_angstrom=5.0) if arch == "paper-5.5" else architecture(arch)
if init == "none":
    schedule = replace(schedule, start_lr=2e-3)
settings = TrainSettings(architecture=arch_obj, seed=77, sel=sel, schedule=schedule)
result = train_model(out, settings, data["train"], data["validation"], compress=False, threads=1,
                     init_model=None if init == "none" else init)
print(result.frozen_model, result.final_rmse)
