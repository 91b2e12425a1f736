"""Issue 17, part 1: low-Q S(Q) of the old and new defaults, and the density drift, on a run's quench.

Usage: ``.venv/bin/python docs/analysis-checks/measure_structure.py RUN_FOLDER`` (replica 0's
anneal stage, the structure stage's window: the last 80 %).
"""
import sys
import glob
import json
import numpy as np
from thioglass.analysis.rdf import RDF
from thioglass.analysis.structure import StructureAnalysis
from thioglass.analysis.structure_factor import neutron_structure_factor
from thioglass.io import iter_frames
from thioglass.md.jobs import THERMO_COLUMNS
from thioglass.md.quench import anneal_averages
run = sys.argv[1]
traj = glob.glob(f"{run}/quench/replica_0/02_anneal/traj.*")[0]
frames = list(iter_frames(traj, ":"))
frames = frames[len(frames) // 5:]
rdf = RDF(10.0, 200)
an = StructureAnalysis()
for f in frames:
    rdf.compute(f)
    an.compute(f)
old = neutron_structure_factor(rdf.result(), np.linspace(20 / 400, 20, 400), lorch=False)  # the old default grid
new = an.result()["sq"]
q_old = old["q"]
q_new = np.asarray(new["q_inv_angstrom"])
out = {"frames": len(frames),
       "old_min_total_q_lt_1": float(old["total"][q_old < 1].min()), "old_min_intensity_q_lt_1": float(old["intensity"][q_old < 1].min()),
       "new_min_total_q_lt_1": float(np.asarray(new["total"])[q_new < 1].min()),
       "new_min_intensity_q_lt_1": float(np.asarray(new["intensity"])[q_new < 1].min()),
       "low_q_limit": new["low_q_limit"], "q_min": new["q_min_inv_angstrom"],
       "first_peak_old": float(q_old[np.argmax(np.where(q_old > 0.8, old["total"], -99))]),
       "first_peak_new": float(q_new[np.argmax(np.where(q_new > 0.8, new["total"], -99))])}
d = np.loadtxt(glob.glob(f"{run}/quench/replica_0/02_anneal/thermo.dat")[0])
out["density"] = anneal_averages({c: d[:, i] for i, c in enumerate(THERMO_COLUMNS)}, 0.2)
print(json.dumps(out, indent=1))
