"""Li conductivity of a glass: NPT runs at several temperatures, MSD, D, Nernst-Einstein, Arrhenius.

Unwrapping while the box fluctuates
-----------------------------------
The engines dump LAMMPS' ``xu yu zu``, i.e. wrapped position plus image count times the
*current* box. Under NPT that turns every box fluctuation ``dL`` into a displacement
``n dL`` of an atom that has crossed ``n`` boundaries, an error that grows with the distance
travelled (von Bülow, Bullerjahn and Hummer, J. Chem. Phys. 153, 021101 (2020)). The MSD here
is therefore computed from the *wrapped* positions by :class:`thioglass.analysis.diffusion.MSD`,
which unwraps in fractional coordinates and converts each step with the cell of the frame it
ends in (:mod:`thioglass.analysis.unwrap`); this integrates only the atoms' own motion. It
needs frames close enough that no atom moves half a cell between them: where the dump has
``xu`` the largest step per frame interval (in cell fractions) is measured from it and a warning
is raised above 0.3. The drift of the framework is removed (kinisi's convention).

A temperature whose MSD is not diffusive by the fixed criterion of
:class:`~thioglass.analysis.diffusion.DiffusionFitSettings` (sub- or super-diffusive: no D and no
sigma, only the apparent ``D_apparent_cm2_s``; or D not above twice its error) is reported with
the reason and left out of the Arrhenius fit, with a warning. With ``production_max_ps`` such a
temperature runs on instead, one more stage of ``production_ps`` at a time (``production_2``, ...),
until it is diffusive or its production has lasted ``production_max_ps``; the MSD is then taken over
all its production stages as one run (:func:`thioglass.io.frames.iter_continued`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from thioglass.analysis.conductivity import arrhenius_fit, nernst_einstein, number_density_per_cm3
from thioglass.analysis.diffusion import MSD, DiffusionFitSettings, fit_diffusion
from thioglass.errors import ThioglassError
from thioglass.md.protocol import Protocol, Stage, extra_stages
from thioglass.io.frames import SpacingCheck, infer_stride
from thioglass.md.jobs import JobProgress, MDJob, run_jobs

TARGET_T_K = 300.0
#: Largest per-frame step, in cell fractions, that the fractional unwrapping handles safely.
MAX_STEP_FRACTION = 0.3


@dataclass(frozen=True)
class ConductivitySettings:
    """NPT runs (times in ps, temperatures in K, pressure in bar) and the MSD fit.

    ``production_ps`` is the part analysed; the paper runs 1 ns above 400 K, 5 ns at 350 K and
    15 ns at 300 K. ``dump_every_ps`` is the frame spacing of the MSD. ``production_max_ps`` (None: a
    fixed production) lets a temperature that is not yet diffusive run on, ``production_ps`` at a time,
    up to that length.
    """

    temperatures_k: tuple[float, ...]
    production_ps: float = 1000.0
    equilibrate_ps: float = 50.0
    dump_every_ps: float = 1.0
    timestep_fs: float = 1.0
    pressure_bar: float = 1.0
    tdamp_ps: float = 0.1
    pdamp_ps: float = 1.0
    seed: int = 1
    species: str = "Li"
    fit: DiffusionFitSettings = field(default_factory=DiffusionFitSettings)
    production_max_ps: float | None = None

    def __post_init__(self) -> None:
        temps = tuple(float(t) for t in self.temperatures_k)
        object.__setattr__(self, "temperatures_k", temps)
        if not temps or min(temps) <= 0 or len(set(temps)) != len(temps):
            raise ThioglassError("give one or more different positive temperatures, e.g. --temperatures 400 450 500")
        if self.production_ps <= 0 or self.equilibrate_ps < 0 or self.dump_every_ps <= 0:
            raise ThioglassError("production and dump interval must be > 0 ps and equilibration >= 0 ps")
        extra_stages(self.production_max_ps, self.production_ps)  # one line on a longest run shorter than one
        if self.production_ps / self.dump_every_ps < 8:
            raise ThioglassError(
                f"{self.production_ps} ps of production dumped every {self.dump_every_ps} ps gives fewer than 8 "
                "frames for the MSD; run longer or dump more often"
            )

    @property
    def max_extensions(self) -> int:
        """How many more production stages ``production_max_ps`` allows (0 for a fixed production)."""
        return extra_stages(self.production_max_ps, self.production_ps)

    def protocol(self, temperature_k: float, extensions: int = 0) -> Protocol:
        """Equilibration, production, then ``extensions`` more production stages continuing it."""
        common = dict(pressure_bar=self.pressure_bar, tdamp_ps=self.tdamp_ps, pdamp_ps=self.pdamp_ps)
        stages = []
        if self.equilibrate_ps > 0:
            stages.append(Stage("equilibrate", "npt", self.equilibrate_ps, temperature_k,
                                dump_every_ps=max(self.dump_every_ps, self.equilibrate_ps / 10), **common))
        stages.append(Stage("production", "npt", self.production_ps, temperature_k,
                            dump_every_ps=self.dump_every_ps, **common))
        stages += [Stage(f"production_{k}", "npt", self.production_ps, temperature_k,
                         dump_every_ps=self.dump_every_ps, **common) for k in range(2, extensions + 2)]
        return Protocol(tuple(stages), timestep_fs=self.timestep_fs, seed=self.seed)


def run_folder(temperature_k: float) -> str:
    return f"T{temperature_k:g}K"


class _StepMonitor:
    """Largest per-frame displacement of the selected atoms in cell fractions, from ``xu`` columns."""

    def __init__(self) -> None:
        self.max_fraction: float | None = None
        self._previous: np.ndarray | None = None

    def update(self, atoms, mask: np.ndarray) -> None:
        unwrapped = atoms.arrays.get("unwrapped")
        if unwrapped is None:
            return
        current = unwrapped[mask]
        if self._previous is not None:
            fraction = float(np.max(np.abs((current - self._previous) @ np.linalg.inv(atoms.cell[:]))))
            self.max_fraction = fraction if self.max_fraction is None else max(self.max_fraction, fraction)
        self._previous = current


def analyse_trajectory(path: Path | str | Sequence[Path | str], temperature_k: float, timestep_fs: float = 1.0, *,
                       stride: int | None = None, frames: str = ":", species: str = "Li",
                       fit: DiffusionFitSettings | None = None) -> dict:
    """D, Nernst-Einstein sigma and the MSD of ``species`` in an existing (NPT or NVT) trajectory.

    Parameters
    ----------
    path:
        LAMMPS dump or extxyz trajectory (wrapped or unwrapped, any cell per frame), or the trajectories of
        stages that continue one another, read as one run (:func:`~thioglass.io.frames.iter_continued`).
    temperature_k:
        Temperature of the run (K), for Nernst-Einstein.
    timestep_fs:
        MD time step (fs).
    stride:
        MD steps between stored frames; None reads it from the frames' step numbers.
    frames:
        ``START:STOP:STEP`` selection (an equilibration part can be skipped).
    fit:
        :class:`~thioglass.analysis.diffusion.DiffusionFitSettings`.

    Returns
    -------
    dict
        JSON-ready: :func:`~thioglass.analysis.diffusion.fit_diffusion` keys, ``sigma_S_cm``,
        ``sigma_mS_cm`` and ``sigma_std_mS_cm`` (None without a D), ``li_density_per_cm3``, ``volume_mean_angstrom3``,
        ``n_carriers``, ``n_frames``, ``frame_interval_ps``, ``max_step_cell_fraction``,
        ``warnings`` and ``msd`` (``lag_ps``, ``msd_A2``).
    """
    from thioglass.io import iter_frames
    from thioglass.io.frames import iter_continued

    if temperature_k <= 0 or timestep_fs <= 0:
        raise ThioglassError("temperature and timestep must be positive")
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    path = paths[0]
    stride = stride or infer_stride(path, frames)
    if stride is None:
        raise ThioglassError(f"'{path}' does not store step numbers; give the MD steps between frames (--stride)")
    msd = MSD(species, timestep_fs=timestep_fs, stride=stride)
    spacing, steps = SpacingCheck(stride, path), _StepMonitor()
    volumes, n_carriers = [], 0
    for atoms in iter_frames(path, frames) if len(paths) == 1 else iter_continued(paths):
        spacing.update(atoms)
        msd.compute(atoms)
        mask = np.array([s == species for s in atoms.get_chemical_symbols()])
        n_carriers = int(mask.sum())
        steps.update(atoms, mask)
        volumes.append(atoms.get_volume())
    curve = msd.result()
    result = fit_diffusion(curve.lag_ps, curve.msd_A2, curve.n_independent, curve.per_atom_msd_A2, settings=fit)
    volume = float(np.mean(volumes))
    density = number_density_per_cm3(n_carriers, volume)
    d = result["D_cm2_s"]
    sigma = None if d is None else float(nernst_einstein(d, density, temperature_k))
    warnings = [] if result["diffusive"] else [f"{temperature_k:g} K: {result['message']}"]
    if steps.max_fraction is not None and steps.max_fraction > MAX_STEP_FRACTION:
        warnings.append(
            f"{temperature_k:g} K: a {species} atom moved {steps.max_fraction:.2f} of the cell between two frames; "
            "unwrapping may miss periodic jumps: dump more often"
        )
    result.update(
        temperature_K=float(temperature_k),
        sigma_S_cm=sigma,
        sigma_mS_cm=None if sigma is None else sigma * 1e3,
        sigma_std_mS_cm=float(abs(sigma) * result["D_std_cm2_s"] / abs(d) * 1e3) if d else None,
        li_density_per_cm3=density,
        volume_mean_angstrom3=volume,
        volume_std_angstrom3=float(np.std(volumes)),
        n_carriers=n_carriers,
        species=species,
        n_frames=len(volumes),
        frame_interval_ps=msd.frame_interval_ps,
        duration_ps=(len(volumes) - 1) * msd.frame_interval_ps,
        max_step_cell_fraction=steps.max_fraction,
        trajectory=str(path),
        trajectories=[str(p) for p in paths],
        warnings=warnings,
        msd={"lag_ps": curve.lag_ps.tolist(), "msd_A2": curve.msd_A2.tolist()},
    )
    return result


def summarise(per_temperature: list[dict]) -> dict:
    """Arrhenius fit of D over the diffusive temperatures and sigma at 300 K (:data:`TARGET_T_K`).

    Non-diffusive temperatures get ``included: False`` and ``excluded_reason``. sigma at 300 K
    comes from the extrapolated D and the Li density of the run nearest 300 K.

    Returns
    -------
    dict
        ``sigma_300K_mS_cm`` (with ``_std``, ``_low``, ``_high``), ``D_300K_cm2_s``,
        ``activation_energy_eV``/``_kJ_mol`` with ``_std``, ``arrhenius`` (the full fit or
        None), ``temperatures`` (the table), ``warnings``.
    """
    rows = sorted(per_temperature, key=lambda r: r["temperature_K"])
    warnings = [w for r in rows for w in r.get("warnings", [])]
    for row in rows:
        ok = _usable(row)
        row["included"] = ok
        row["excluded_reason"] = None if ok else row["message"]
    used = [r for r in rows if r["included"]]
    out = {key: None for key in ("sigma_300K_mS_cm", "sigma_300K_std_mS_cm", "sigma_300K_low_mS_cm",
                                 "sigma_300K_high_mS_cm", "D_300K_cm2_s", "activation_energy_eV",
                                 "activation_energy_std_eV", "activation_energy_kJ_mol", "activation_energy_std_kJ_mol")}
    out.update(arrhenius=None, target_T_K=TARGET_T_K)
    if len({r["temperature_K"] for r in used}) < 2:
        warnings.append(f"only {len(used)} diffusive temperature(s): no Arrhenius fit; run longer or add temperatures")
    else:
        nearest = min(rows, key=lambda r: abs(r["temperature_K"] - TARGET_T_K))
        fit = arrhenius_fit([r["temperature_K"] for r in used], [r["D_cm2_s"] for r in used],
                            [r["D_std_cm2_s"] for r in used], quantity="D", target_T_K=TARGET_T_K,
                            carrier_density_per_cm3=nearest["li_density_per_cm3"])
        fit["li_density_from_T_K"] = nearest["temperature_K"]
        out.update(
            sigma_300K_mS_cm=fit["sigma_mS_cm"], sigma_300K_std_mS_cm=fit["sigma_std_mS_cm"],
            sigma_300K_low_mS_cm=fit["sigma_S_cm_low"] * 1e3, sigma_300K_high_mS_cm=fit["sigma_S_cm_high"] * 1e3,
            D_300K_cm2_s=fit["D_cm2_s"], activation_energy_eV=fit["Ea_eV"], activation_energy_std_eV=fit["Ea_std_eV"],
            activation_energy_kJ_mol=fit["Ea_kJ_mol"], activation_energy_std_kJ_mol=fit["Ea_std_kJ_mol"], arrhenius=fit,
        )
    out.update(temperatures=rows, warnings=warnings)
    return out


def run_conductivity(atoms, per_temperature: Sequence[ConductivitySettings], engine: Any, out_dir: Path | str, *,
                     client: Any = None, progress: JobProgress | None = None,
                     on_analysis: Callable[[float], None] | None = None) -> dict:
    """Run (or resume) one NPT job per temperature, analyse its production, fit Arrhenius.

    A temperature that is not diffusive and whose settings allow it (``production_max_ps``) runs on, one
    more production stage at a time, in rounds of all such temperatures, until every one is diffusive or
    at its longest. What a round decides is read from finished stages, so a rerun takes the same path.

    Parameters
    ----------
    atoms:
        The glass every run starts from.
    per_temperature:
        One :class:`ConductivitySettings` per temperature (each with one temperature), so every
        temperature may have its own run length.
    engine:
        MD engine (:func:`thioglass.md.engine.make_engine`).
    out_dir:
        Folder of the runs, ``T<temperature>K/`` each; rerun to resume.
    client, progress:
        Dask client (or None) and ``progress(job, steps_done, total_steps)``.
    on_analysis:
        Called with the temperature before its trajectory is analysed.

    Returns
    -------
    dict
        :func:`summarise` output; each row also has ``workdir``, ``production_ps`` (the whole
        production analysed) and ``production_extensions``.
    """
    species = per_temperature[0].species
    if species not in atoms.get_chemical_symbols():
        raise ThioglassError(f"the structure has no {species} atoms; give a Li-containing glass")
    runs = {t: s for s in per_temperature for t in s.temperatures_k}
    extensions = {t: _extensions_on_disk(Path(out_dir) / run_folder(t), s, t) for t, s in runs.items()}
    rows: dict[float, dict] = {}
    pending = list(runs)
    while pending:
        jobs = {t: MDJob(run_folder(t), atoms, runs[t].protocol(t, extensions[t]),
                         str(Path(out_dir) / run_folder(t)), engine) for t in pending}
        outcome = run_jobs(list(jobs.values()), client, progress=progress)
        outcome.raise_first()  # the Arrhenius fit needs every temperature
        for t, job in jobs.items():
            if on_analysis is not None:
                on_analysis(t)
            rows[t] = _analyse_run(outcome.results[job.name], t, runs[t], extensions[t])
            rows[t]["workdir"] = job.workdir
        pending = [t for t in pending if not _usable(rows[t]) and extensions[t] < runs[t].max_extensions]
        for t in pending:
            extensions[t] += 1
    return summarise([rows[t] for t in runs])


def _analyse_run(result: Any, temperature_k: float, settings: ConductivitySettings, extensions: int) -> dict:
    """:func:`analyse_trajectory` over every production stage of one temperature's run."""
    names = ["production", *(f"production_{k}" for k in range(2, extensions + 2))]
    paths = [result.stage(name).trajectory for name in names]
    row = analyse_trajectory(paths, temperature_k, settings.timestep_fs, species=settings.species, fit=settings.fit)
    row.update(production_ps=settings.production_ps * (1 + extensions), production_extensions=extensions)
    return row


def _extensions_on_disk(folder: Path, settings: ConductivitySettings, temperature_k: float) -> int:
    """Production stages a previous run of this temperature appended (within what the settings allow)."""
    from thioglass.md.jobs import appended_stages

    return appended_stages(folder, len(settings.protocol(temperature_k).stages), settings.max_extensions)


def _usable(row: dict) -> bool:
    """Diffusive by the fixed criterion, with a positive D: the rows the Arrhenius fit takes."""
    return bool(row["diffusive"] and (row["D_cm2_s"] or 0.0) > 0)


class ConductivityWorkflow:
    """NPT run per temperature (each resumable in its own folder), then :func:`analyse_trajectory` and :func:`summarise`.

    Parameters
    ----------
    settings:
        :class:`ConductivitySettings`.
    """

    def __init__(self, settings: ConductivitySettings) -> None:
        self.settings = settings

    def calc(self, atoms, engine: Any, out_dir: Path | str, *, client: Any = None,
             progress: JobProgress | None = None) -> dict:
        """Run (or resume) every temperature and analyse the production stages (:func:`run_conductivity`).

        Returns
        -------
        dict
            :func:`summarise` output plus ``settings``.
        """
        out = run_conductivity(atoms, [self.settings], engine, out_dir, client=client, progress=progress)
        out["settings"] = asdict(self.settings)
        return out
