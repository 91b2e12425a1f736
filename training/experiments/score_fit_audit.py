"""Score models on every 3rd frame of the stage-3 label store (the fit) and on the audit frames (per system)."""
import sys, collections
import numpy as np
from deepmd.infer import DeepPot
from thioglass.elements import TYPE_MAP
from thioglass.mlff.dataset import store_frames, read_labelled
from thioglass.reference.label import LabelStore

frames = [fl for k, fl in enumerate(store_frames(LabelStore("work/learn-3/labels"))) if k % 3 == 0]
audit = list(read_labelled("training/audit-sevennet-l3i5.extxyz.gz"))

def key(atoms):
    f = atoms.get_chemical_formula(mode="reduce")
    for name, test in (("Li4P2S6", lambda: "Li4P2S6" in f or f == "Li2PS3"), ("P2S5", lambda: "Li" not in f and "Si" not in f),
                       ("Li2S", lambda: set(atoms.get_chemical_symbols()) == {"Li", "S"})):
        if test():
            return name
    return "other"

for model in sys.argv[1:]:
    dp = DeepPot(model)
    def errs(pairs, group):
        out = collections.defaultdict(list)
        for atoms, lab in pairs:
            t = [TYPE_MAP.index(s) for s in atoms.get_chemical_symbols()]
            e, f, _ = dp.eval(atoms.positions.reshape(1, -1), atoms.cell[:].reshape(1, -1), t)
            out[group(atoms)].append(((e[0, 0] - lab.energy_ev) / len(atoms) * 1000, f[0] - np.asarray(lab.forces_ev_per_angstrom)))
            out["ALL"].append(out[group(atoms)][-1])
        return {g: (np.sqrt(np.mean([r[0] ** 2 for r in rows])), np.mean([r[0] for r in rows]),
                    np.sqrt(np.mean(np.concatenate([r[1].ravel() for r in rows]) ** 2)), len(rows)) for g, rows in out.items()}
    print(model)
    for name, res in (("fit", errs(frames, key)), ("audit", errs(audit, lambda a: a.info.get("system", "?")))):
        for g, (erms, emean, frms, n) in sorted(res.items()):
            print(f"  {name:5s} {g:28s} n={n:4d} E rms {erms:6.1f} mean {emean:+6.1f} meV/atom  F rms {frms:.3f}")
