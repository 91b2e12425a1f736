"""Issue 17, part 1: the Li diffusion fit before and after, and kinisi, on a run's conductivity trajectories.

Usage (from the repository root)::

    git show b8c0110^:src/thioglass/analysis/diffusion.py > /tmp/old_diffusion.py
    .venv/bin/python docs/analysis-checks/measure_diffusion.py RUN_FOLDER /tmp/old_diffusion.py

RUN_FOLDER is a ``thioglass run`` folder with ``conductivity/T<T>K/01_production``; frames every
20 MD steps of 1 fs (the quick preset). Writes RUN_FOLDER/issue17_diffusion.json.
"""
import importlib.util
import json
import sys
import glob
import numpy as np
import scipp as sc
from kinisi.analyze import DiffusionAnalyzer
from thioglass.analysis.diffusion import MSD, fit_diffusion
from thioglass.analysis.conductivity import arrhenius_fit
from thioglass.io import iter_frames
spec = importlib.util.spec_from_file_location("old_diffusion", sys.argv[2])
old = importlib.util.module_from_spec(spec)
sys.modules["old_diffusion"] = old
spec.loader.exec_module(old)
run = sys.argv[1]
rows = {}
for T in (500, 600, 700, 800):
    path = glob.glob(f"{run}/conductivity/T{T}K/01_production/traj.*")[0]
    frames = list(iter_frames(path, ":"))
    m = MSD("Li", timestep_fs=1.0, stride=20)
    for f in frames:
        m.compute(f)
    c = m.result()
    new = fit_diffusion(c.lag_ps, c.msd_A2, c.n_independent, c.per_atom_msd_A2)
    was = old.fit_diffusion(c.lag_ps, c.msd_A2, c.n_independent, c.per_atom_msd_A2)
    dt = 0.02
    n = len(frames)
    lags = sc.arange("time interval", 1, n // 2 + 1) * sc.scalar(20, unit="fs")
    kin = DiffusionAnalyzer.from_ase(frames, specie="Li", time_step=sc.scalar(1.0, unit="fs"), step_skip=sc.scalar(20),
                                     dt=lags, progress=False)
    start = new["fit_start_ps"] if new["D_cm2_s"] is not None else max(1.0, was["fit_start_ps"])
    kin.diffusion(sc.scalar(start * 1000, unit="fs"), progress=False, n_samples=500, n_burn=300,
                  random_state=np.random.RandomState(0))
    samples = sc.to_unit(kin.D, "cm^2/s").values
    lo, hi = np.percentile(samples, [2.5, 97.5])
    plateau = float(np.interp(0.5, c.lag_ps, c.msd_A2))
    rows[T] = dict(old_D=was["D_cm2_s"], old_D_std=was["D_std_cm2_s"], old_start=was["fit_start_ps"], old_slope=was["loglog_slope"],
                   old_diffusive=was["diffusive"], new_D=new["D_cm2_s"], new_D_std=new["D_std_cm2_s"],
                   new_start=new["fit_start_ps"], new_regime=new["regime"], new_slope=new["loglog_slope"],
                   local=(new["local_slope_min"], new["local_slope_max"]), D_apparent=new["D_apparent_cm2_s"],
                   kinisi_start=start, kinisi_mean=float(samples.mean()), kinisi_95=(float(lo), float(hi)),
                   msd_at_0p5ps=plateau, msd_at_end=float(c.msd_A2[len(c.msd_A2) // 2]), message=new["message"])
    print(T, json.dumps(rows[T]), flush=True)
for label, key, ok in (("old", "old_D", "old_diffusive"), ("new", "new_D", None)):
    used = [T for T in rows if (rows[T][ok] if ok else rows[T]["new_regime"] == "diffusive")]
    if len(used) >= 2:
        std = [rows[T][key + "_std"] for T in used]
        fit = arrhenius_fit(used, [rows[T][key] for T in used], std)
        print(label, "Ea", used, fit["Ea_eV"], fit["Ea_std_eV"])
json.dump(rows, open(f"{run}/issue17_diffusion.json", "w"), indent=1)
