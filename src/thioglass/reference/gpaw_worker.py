"""One GPAW single point for thioglass's ``gpaw-pbesol`` reference, run as a standalone script.

    python3 -I gpaw_worker.py JOB.json RESULT.json

It runs under the interpreter that has GPAW (Debian's ``/usr/bin/python3`` with ``gpaw`` 22.8, numpy 1.24,
ASE 3.22), not thioglass's environment, so it imports only the standard library, numpy, ASE and GPAW, and
never ``thioglass``. Atoms, settings and results travel as plain JSON, which both sides' numpy and ASE
versions read. GPAW's text output goes to stdout (the caller sends it to a log file). The result file is
written only after a converged calculation, by a rename, so it is either complete or absent.
"""

import json
import os
import sys
import time


def nvalence(symbols, xc):
    """Valence electrons of the cell with these PAW setups (GPAW's SCF criterion is per valence electron)."""
    from gpaw.setup_data import SetupData

    counts = {s: symbols.count(s) for s in set(symbols)}
    return sum(n * SetupData(s, xc).Nv for s, n in counts.items())


def calculator(job, symbols):
    from gpaw import GPAW, PW

    s = job["settings"]
    # VASP's EDIFF is per cell; GPAW's energy criterion is per valence electron.
    energy_tol = s["ediff_ev"] / max(1, nvalence(symbols, s["xc"]))
    # No Pulay-stress correction, as in VASP: at 500 eV GPAW's estimate of it changes the stress of Li2S by
    # 1e-5 eV/Å³ (0.002 GPa).
    # kpts without "gamma": the plain Monkhorst-Pack grid (odd sizes contain Gamma, even ones do not), which
    # is VASP's KGAMMA = .FALSE.; ASE's "gamma": False would shift odd grids off Gamma as well.
    return GPAW(mode=PW(s["encut_ev"]), xc=s["xc"], kpts={"size": job["kpts"]},
                occupations={"name": s["smearing"], "width": s["smearing_width_ev"]},
                convergence={"energy": energy_tol, "density": s["density_tolerance"]},
                maxiter=s["max_scf_iterations"], txt="-")


def main(job_path, result_path):
    with open(job_path) as handle:
        job = json.load(handle)
    from ase import Atoms

    atoms = Atoms(numbers=job["numbers"], positions=job["positions"], cell=job["cell"], pbc=job["pbc"])
    atoms.calc = calculator(job, atoms.get_chemical_symbols())
    start = time.time()
    # The free energy is the one the forces and stress are derivatives of (VASP's TOTEN, what dpdata reads).
    energy = atoms.get_potential_energy(force_consistent=True)
    result = {
        "energy": energy,
        "energy_extrapolated": atoms.get_potential_energy(),
        "forces": atoms.get_forces().tolist(),
        "stress": atoms.get_stress(voigt=True).tolist(),
        "kpts": job["kpts"],
        "seconds": time.time() - start,
    }
    from gpaw import __version__

    result["gpaw_version"] = __version__
    tmp = result_path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(result, handle)
    os.replace(tmp, result_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
