"""Elastic constants of a glass at temperature: stresses averaged over MD of 12 strained cells.

The static route (relax, strain, stress) is :mod:`thioglass.properties.elastic_static`; this
module has the route the paper uses for glasses (its ref. 34, Clavier et al. 2017):

1. ``reference``: NPT at the temperature; the mean volume over the second half of the run
   sets the reference cell (the input cell scaled isotropically, as the ``iso`` barostat
   does), so the reference state is at the target pressure on average.
2. For each of the 6 Voigt directions and both signs, the reference structure is strained
   affinely and run in NVT; the thermo stress after ``equilibrate_ps`` is averaged in
   ``n_blocks`` consecutive blocks.
3. ``C_ij = (sigma_i(+e_j) - sigma_i(-e_j)) / 2e`` from the block means, with the standard
   error over blocks (:func:`~thioglass.analysis.elastic.elastic_tensor_from_stresses`) and
   delete-one-block jackknife errors of B, G, E and nu.
4. With ``production_max_ps``, while B or G carries a relative error above ``target_relative_error``,
   all 12 runs go on together, one more stage of ``production_ps`` (``strained_2``, ...), and the
   stresses of all their production stages are averaged again, up to ``production_max_ps``.

All 12 runs start from the same positions and draw the same initial velocities (same seed),
so their trajectories stay correlated for a while and part of the thermal noise cancels in the
stress differences.

Stress conventions: LAMMPS' thermo pressure tensor (bar) is ``P = -sigma``, so
``sigma_GPa = -P_bar * 1e-4`` (tension positive, as :mod:`thioglass.analysis.elastic` wants).
LAMMPS only takes lower-triangular cells, so each strained cell is rotated into that form
before it runs (``r_lammps = Q r``) and its stress is rotated back, ``sigma = Q^T sigma_lammps Q``:
C comes out in the frame of the input structure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from thioglass.analysis.elastic import VOIGT_PAIRS, elastic_tensor_from_stresses, strained_cells, vrh
from thioglass.errors import ThioglassError
from thioglass.md.protocol import Protocol, Stage, extra_stages
from thioglass.md.jobs import JobProgress, MDJob, run_jobs

#: bar to GPa.
BAR_TO_GPA = 1e-4
_VOIGT_NAMES = ("xx", "yy", "zz", "yz", "xz", "xy")
_MODULI = ("bulk_modulus_vrh_GPa", "shear_modulus_vrh_GPa", "youngs_modulus_GPa", "poisson_ratio")


@dataclass(frozen=True)
class ElasticMDSettings:
    """Parameters of the MD route (times in ps, temperature in K, pressure in bar).

    Attributes
    ----------
    temperature_k:
        Temperature of every run.
    strain:
        Engineering strain magnitude (the paper: 0.01).
    reference_ps:
        NPT run that sets the reference volume; 0 uses the input cell as it is.
    equilibrate_ps:
        Start of each strained NVT run that is discarded.
    production_ps:
        Part of each strained run whose stress is averaged.
    n_blocks:
        Blocks the production stress is cut into (samples for the uncertainties; each block
        should be longer than the stress autocorrelation time, ~0.1-1 ps).
    thermo_every_steps:
        MD steps between stress samples.
    production_max_ps:
        None: a fixed production. Otherwise the strained runs go on, ``production_ps`` at a time, up
        to this much production, until B and G carry at most ``target_relative_error`` (jackknife
        standard error over their value).
    """

    temperature_k: float = 300.0
    strain: float = 0.01
    reference_ps: float = 20.0
    equilibrate_ps: float = 5.0
    production_ps: float = 20.0
    n_blocks: int = 5
    timestep_fs: float = 1.0
    thermo_every_steps: int = 10
    pressure_bar: float = 1.0
    tdamp_ps: float = 0.1
    pdamp_ps: float = 1.0
    seed: int = 1
    production_max_ps: float | None = None
    target_relative_error: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.target_relative_error < 1.0:
            raise ThioglassError(f"target_relative_error {self.target_relative_error} must be in (0, 1), e.g. 0.1")
        if not 0.0 < self.strain < 0.1:
            raise ThioglassError(f"elastic strain {self.strain} is outside (0, 0.1); use a small strain such as 0.01")
        if self.temperature_k <= 0 or self.production_ps <= 0 or self.equilibrate_ps < 0 or self.reference_ps < 0:
            raise ThioglassError("temperature and production time must be > 0, equilibration and reference times >= 0")
        extra_stages(self.production_max_ps, self.production_ps)  # one line on a longest run shorter than one
        if self.n_blocks < 3 or self.thermo_every_steps < 1:
            raise ThioglassError("n_blocks must be >= 3 (for uncertainties) and thermo_every_steps >= 1")
        samples = self.production_ps * 1000.0 / self.timestep_fs / self.thermo_every_steps
        if samples < self.n_blocks:
            raise ThioglassError(
                f"{self.production_ps} ps of production gives {int(samples)} stress samples for {self.n_blocks} "
                "blocks; run longer, sample more often (thermo_every_steps) or use fewer blocks"
            )

    def _protocol(self, stage: Stage) -> Protocol:
        return Protocol((stage,), timestep_fs=self.timestep_fs, seed=self.seed,
                        thermo_every_steps=self.thermo_every_steps)

    def reference_protocol(self) -> Protocol:
        return self._protocol(Stage("reference", "npt", self.reference_ps, self.temperature_k,
                                    pressure_bar=self.pressure_bar, tdamp_ps=self.tdamp_ps, pdamp_ps=self.pdamp_ps,
                                    dump_every_ps=self.reference_ps / 10))

    @property
    def max_extensions(self) -> int:
        """How many more production stages ``production_max_ps`` allows (0 for a fixed production)."""
        return extra_stages(self.production_max_ps, self.production_ps)

    def strained_protocol(self, extensions: int = 0) -> Protocol:
        """Equilibration and production in one NVT stage, then ``extensions`` more production stages."""
        total = self.equilibrate_ps + self.production_ps
        more = tuple(Stage(f"strained_{k}", "nvt", self.production_ps, self.temperature_k, tdamp_ps=self.tdamp_ps,
                           dump_every_ps=self.production_ps / 10) for k in range(2, extensions + 2))
        first = Stage("strained", "nvt", total, self.temperature_k, tdamp_ps=self.tdamp_ps, dump_every_ps=total / 10)
        return Protocol((first, *more), timestep_fs=self.timestep_fs, seed=self.seed,
                        thermo_every_steps=self.thermo_every_steps)


def lammps_frame(atoms: Atoms) -> tuple[Atoms, np.ndarray]:
    """A copy rotated so its cell is lower-triangular (LAMMPS' form), and the rotation.

    Returns
    -------
    tuple
        The rotated copy and the orthogonal ``Q`` (3x3) with ``r_lammps = Q r`` for column
        vectors (``cell_lammps = cell @ Q.T``).
    """
    q, r = np.linalg.qr(atoms.cell[:].T)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    rotation = (q * signs).T
    rotated = atoms.copy()
    rotated.set_cell(np.tril(atoms.cell[:] @ rotation.T), scale_atoms=True)
    return rotated, rotation


def voigt_to_tensor(voigt: np.ndarray) -> np.ndarray:
    """(..., 6) Voigt (xx yy zz yz xz xy) to (..., 3, 3) symmetric tensors."""
    voigt = np.asarray(voigt, dtype=float)
    tensor = np.empty(voigt.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(VOIGT_PAIRS):
        tensor[..., i, j] = tensor[..., j, i] = voigt[..., k]
    return tensor


def tensor_to_voigt(tensor: np.ndarray) -> np.ndarray:
    """(..., 3, 3) to (..., 6) Voigt."""
    return np.stack([tensor[..., i, j] for i, j in VOIGT_PAIRS], axis=-1)


def thermo_stress_GPa(thermo: dict[str, np.ndarray], rotation: np.ndarray | None = None) -> np.ndarray:
    """Voigt stress (GPa, tension positive) of every thermo row, in the unrotated frame.

    Parameters
    ----------
    thermo:
        Columns ``pxx pyy pzz pyz pxz pxy`` (bar, LAMMPS' pressure tensor), e.g. from
        :func:`thioglass.md.results.read_thermo`.
    rotation:
        ``Q`` of :func:`lammps_frame` for the cell that ran (None: no rotation).
    """
    pressure = np.column_stack([thermo[c] for c in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")])
    stress = voigt_to_tensor(-pressure * BAR_TO_GPA)
    if rotation is not None:
        stress = np.einsum("ki,tkl,lj->tij", rotation, stress, rotation)
    return tensor_to_voigt(stress)


def block_means(samples: np.ndarray, n_blocks: int) -> np.ndarray:
    """Means of ``n_blocks`` consecutive blocks of samples (n, ...) -> (n_blocks, ...)."""
    if samples.shape[0] < n_blocks:
        raise ThioglassError(f"{samples.shape[0]} samples cannot fill {n_blocks} blocks; run longer")
    return np.stack([block.mean(axis=0) for block in np.array_split(samples, n_blocks)])


def jackknife_moduli(plus: np.ndarray, minus: np.ndarray, strain: float) -> dict[str, float]:
    """Delete-one-block jackknife standard errors of the VRH moduli; inputs (6, n_blocks, 6)."""
    n = plus.shape[1]
    values = {key: [] for key in _MODULI}
    for k in range(n):
        keep = np.arange(n) != k
        tensor = elastic_tensor_from_stresses(plus[:, keep].mean(axis=1), minus[:, keep].mean(axis=1), strain)
        moduli = vrh(tensor.C_GPa)
        for key in _MODULI:
            values[key].append(moduli[key])
    out = {}
    for key, v in values.items():
        v = np.asarray(v)
        name = key.replace("_GPa", "_std_GPa") if key.endswith("_GPa") else f"{key}_std"
        out[name] = float(np.sqrt((n - 1) / n * np.sum((v - v.mean()) ** 2)))
    return out


class ElasticMDStep:
    """Elastic tensor at temperature from MD of strained cells (module docstring).

    Parameters
    ----------
    settings:
        :class:`ElasticMDSettings`.
    """

    def __init__(self, settings: ElasticMDSettings | None = None) -> None:
        self.settings = settings or ElasticMDSettings()

    def reference(self, atoms: Atoms, engine: Any, workdir: Path, *, client: Any = None,
                  progress: JobProgress | None = None) -> tuple[Atoms, dict]:
        """The reference structure (input frame) at the mean NPT volume, and what was measured."""
        s = self.settings
        if s.reference_ps == 0:
            return atoms.copy(), {"volume_angstrom3": float(atoms.get_volume()), "npt": False}
        rotated, rotation = lammps_frame(atoms)
        job = MDJob("reference", rotated, s.reference_protocol(), str(workdir / "reference"), engine)
        outcome = run_jobs([job], client, progress=progress)
        outcome.raise_first()
        result = outcome.results["reference"].stage("reference")
        thermo = result.thermo_table()
        half = thermo["vol"][thermo["step"] >= thermo["step"][-1] / 2]
        volume = float(np.mean(half))
        final = result.final_atoms()
        if len(final) != len(atoms):
            raise ThioglassError(f"the reference run in {workdir / 'reference'} lost atoms; check the potential")
        reference = atoms.copy()
        # Fractional coordinates of the equilibrated structure in the input cell scaled to the mean volume.
        scaled = atoms.cell[:] * (volume / atoms.get_volume()) ** (1.0 / 3.0)
        reference.set_cell(scaled, scale_atoms=False)
        reference.set_scaled_positions(final.get_scaled_positions(wrap=False))
        info = {
            "volume_angstrom3": volume,
            "volume_std_angstrom3": float(np.std(half)),
            "temperature_mean_K": float(np.mean(thermo["temp"][thermo["step"] >= thermo["step"][-1] / 2])),
            "npt": True,
            "workdir": str(workdir / "reference"),
        }
        return reference, info

    def strain_jobs(self, reference: Atoms, workdir: Path, engine: Any,
                    extensions: int = 0) -> list[tuple[MDJob, int, int, np.ndarray]]:
        """The 12 strained runs: (job, Voigt index, sign, rotation into the LAMMPS frame)."""
        s = self.settings
        out = []
        for item in strained_cells(reference.cell[:], s.strain):
            deformed = reference.copy()
            deformed.set_cell(item.cell, scale_atoms=True)
            rotated, rotation = lammps_frame(deformed)
            name = f"{_VOIGT_NAMES[item.voigt_index]}{'+' if item.sign > 0 else '-'}"
            folder = workdir / f"strain_{item.voigt_index + 1}{'p' if item.sign > 0 else 'm'}"
            job = MDJob(name, rotated, s.strained_protocol(extensions), str(folder), engine)
            out.append((job, item.voigt_index, item.sign, rotation))
        return out

    def calc(self, atoms: Atoms, engine: Any, workdir: Path | str, *, client: Any = None,
             progress: JobProgress | None = None) -> dict:
        """Run the reference and the 12 strained runs (resuming finished ones) and return C and moduli.

        Parameters
        ----------
        atoms:
            Periodic structure (a glass: relaxed or quenched), not modified.
        engine:
            MD engine (``run(atoms, protocol, workdir, progress=...)``).
        workdir:
            Folder of the runs (``reference/`` and ``strain_<i><p|m>/``); rerun to resume.
        client:
            Dask client to run the 12 strained runs in parallel, or None.
        progress:
            ``progress(job, steps_done, total_steps)``.

        Returns
        -------
        dict
            :func:`~thioglass.analysis.elastic.vrh` keys, ``C_err_GPa``, jackknife ``*_std_GPa``
            and ``poisson_ratio_std``, ``asymmetry_GPa``, ``reference``, ``runs`` (per strain:
            mean stress, its standard error, mean temperature), ``production_ps`` (per strained run,
            every stage), ``production_extensions``, ``converged`` and ``settings``.
        """
        if not all(atoms.pbc) or atoms.cell.rank != 3:
            raise ThioglassError("elastic constants need a structure periodic in x, y and z")
        s = self.settings
        workdir = Path(workdir)
        reference, ref_info = self.reference(atoms, engine, workdir, client=client, progress=progress)
        extensions = self._extensions_on_disk(reference, workdir, engine)
        while True:
            jobs = self.strain_jobs(reference, workdir, engine, extensions)
            outcome = run_jobs([j[0] for j in jobs], client, progress=progress)
            outcome.raise_first()  # every strain is needed for C
            result = self._moduli(jobs, outcome.results, extensions)
            result["converged"] = _relative_error(result) <= s.target_relative_error
            if result["converged"] or extensions >= s.max_extensions:
                break
            extensions += 1
        result.update(volume_angstrom3=ref_info["volume_angstrom3"], n_atoms=len(atoms), temperature_K=s.temperature_k,
                      reference=ref_info, settings=asdict(s))
        return result

    def _extensions_on_disk(self, reference: Atoms, workdir: Path, engine: Any) -> int:
        """Production stages every strained run has already appended (they grow together)."""
        from thioglass.md.jobs import appended_stages

        return min(appended_stages(job.workdir, 1, self.settings.max_extensions)
                   for job, *_ in self.strain_jobs(reference, workdir, engine))

    def _moduli(self, jobs: list, results: dict, extensions: int) -> dict:
        """C and the VRH moduli from the block means of every strained run's production stress."""
        s = self.settings
        plus, minus = np.zeros((6, s.n_blocks, 6)), np.zeros((6, s.n_blocks, 6))
        runs = []
        first_kept = round(s.equilibrate_ps * 1000.0 / s.timestep_fs)
        stages = ["strained", *(f"strained_{k}" for k in range(2, extensions + 2))]
        for job, index, sign, rotation in jobs:
            tables = [results[job.name].stage(name).thermo_table() for name in stages]
            # The first stage's equilibration is dropped; each later stage repeats its start state at step 0.
            parts = [{k: v[t["step"] > (first_kept if n == 0 else 0)] for k, v in t.items()} for n, t in enumerate(tables)]
            kept = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
            blocks = block_means(thermo_stress_GPa(kept, rotation), s.n_blocks)
            (plus if sign > 0 else minus)[index] = blocks
            runs.append({
                "name": job.name, "voigt_index": index + 1, "sign": sign, "n_samples": int(len(kept["step"])),
                "temperature_mean_K": float(np.mean(kept["temp"])),
                "stress_GPa": blocks.mean(axis=0).tolist(),
                "stress_sem_GPa": (blocks.std(axis=0, ddof=1) / np.sqrt(s.n_blocks)).tolist(),
                "workdir": job.workdir,
            })
        tensor = elastic_tensor_from_stresses(plus, minus, s.strain)
        result = vrh(tensor.C_GPa)
        result.update(jackknife_moduli(plus, minus, s.strain))
        result.update(C_err_GPa=tensor.C_err_GPa.tolist(), asymmetry_GPa=tensor.asymmetry_GPa,
                      eq_stress_GPa=((plus.mean(axis=1) + minus.mean(axis=1)) / 2).mean(axis=0).tolist(), runs=runs,
                      production_ps=s.production_ps * (1 + extensions), production_extensions=extensions)
        return result


def _relative_error(result: dict) -> float:
    """The larger relative (jackknife) error of B and G; infinite when a modulus is not positive."""
    errors = []
    for key in ("bulk_modulus_vrh", "shear_modulus_vrh"):
        value, std = result[f"{key}_GPa"], result[f"{key}_std_GPa"]
        errors.append(std / value if value > 0 else float("inf"))
    return max(errors)


#: The routes to the elastic constants: ``static`` (0 K, relaxations) and ``md`` (at temperature).
ROUTES = ("static", "md")


def elastic_by_route(route: str, atoms: Atoms, potential: str | None, *, static: Any, md: ElasticMDSettings | None,
                     workdir: Path, threads: int = 2, client: Any = None, progress: JobProgress | None = None,
                     native_log: Path | None = None, ensemble: tuple[str, ...] | None = None) -> dict:
    """Elastic tensor and moduli of ``atoms`` by one route; the one place a route name is resolved.

    Parameters
    ----------
    route:
        ``static`` (:func:`~thioglass.properties.elastic_static.static_elastic` with ``static``,
        result marked ``route="static"``, ``temperature_K=0``) or ``md`` (:class:`ElasticMDStep`
        with ``md``, runs in ``workdir``).
    potential, threads:
        As ``--potential``; threads of the calculator or of each MD run.
    client, progress:
        MD route: Dask client and ``progress(job, steps_done, total_steps)``.
    native_log:
        Static route: file that takes the libraries' own stderr lines.
    ensemble:
        MD route: ensemble members of a user's model (:func:`~thioglass.md.engine.make_engine`).
    """
    if route == "static":
        from thioglass.properties.elastic_static import static_elastic

        result = static_elastic(atoms, potential, static, threads=threads, native_log=native_log)
        result.update(route="static", temperature_K=0.0)
        return result
    if route == "md":
        from thioglass.md.engine import make_engine

        return ElasticMDStep(md).calc(atoms, make_engine(potential, threads, ensemble=ensemble), workdir, client=client,
                                      progress=progress)
    raise ThioglassError(f"elastic route '{route}' is unknown; use one of {', '.join(ROUTES)}")
