"""Benchmark of the structure analysis: speed, RDF against freud, memory while streaming.

One run measures

* frames per second of the full :class:`~thioglass.analysis.structure.StructureAnalysis` on a
  glass-like cell of ``n_atoms`` (PS4 units packed at random at the glass density, displaced
  at random frame to frame);
* the time of one g(r) frame through :class:`thioglass.analysis.rdf.RDF` (all partials) and
  through ``freud.density.RDF`` (total only; one and all threads), same r_max and bins, with the
  largest difference between the two totals as a check that both computed the same thing;
* reading speed of extxyz and LAMMPS dump files of that cell;
* peak resident memory while streaming trajectories of increasing length (extxyz and LAMMPS dump,
  a smaller cell) through reader + full analysis, and its slope in MB per 1000 frames, which is
  near zero when nothing grows with the number of frames.
"""

from __future__ import annotations

import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from thioglass.bench.common import RSSSampler, machine_info, slope_per_1000, time_calls
from thioglass.errors import ThioglassError

StageCallback = Callable[[str], None]


@dataclass(frozen=True)
class AnalysisBenchSettings:
    """What :func:`run_analysis_benchmark` measures.

    Attributes
    ----------
    n_atoms
        Atoms in the cell timed for analysis speed and the RDF comparison.
    n_frames
        Longest trajectory streamed in the memory test; n_frames/100 and n_frames/10 are run too.
    timing_frames
        Distinct frames (thermal-like displacements of the cell) analysed for the frames/s figure.
    rdf_repeats
        Timed repeats of one g(r) frame for each implementation.
    memory_atoms
        Atoms per frame of the streamed trajectories.
    r_max_angstrom, n_bins
        g(r) range and bins, identical for thioglass and freud.
    composition, density_g_cm3
        The glass cell: 75Li2S-25P2S5 at 1.88 g/cm^3 (the paper's experimental value).
    seed
        Seed of every random step.
    """

    n_atoms: int = 5000
    n_frames: int = 1000
    timing_frames: int = 20
    rdf_repeats: int = 5
    memory_atoms: int = 1000
    r_max_angstrom: float = 10.0
    n_bins: int = 200
    composition: str = "75Li2S-25P2S5"
    density_g_cm3: float = 1.88
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_atoms", "n_frames", "timing_frames", "rdf_repeats", "memory_atoms", "n_bins"):
            if int(getattr(self, name)) < 1:
                raise ThioglassError(f"benchmark setting {name} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def quick(cls, **overrides: Any) -> AnalysisBenchSettings:
        """A run of seconds for smoke tests: small cells, short trajectories."""
        small = dict(n_atoms=600, n_frames=30, timing_frames=3, rdf_repeats=2, memory_atoms=100)
        return replace(cls(), **{**small, **overrides})

    @property
    def trajectory_lengths(self) -> list[int]:
        """Frame counts of the streamed trajectories, e.g. 10, 100, 1000."""
        return sorted({max(1, self.n_frames // 100), max(1, self.n_frames // 10), self.n_frames})


def glass_cell(n_atoms: int, settings: AnalysisBenchSettings, seed: int) -> Atoms:
    """The benchmark glass: :func:`thioglass.build.build_glass` (PS4 units packed at random)."""
    from thioglass.build import BuildSettings, build_glass

    return build_glass(
        settings.composition,
        settings=BuildSettings(n_atoms=n_atoms, density_g_cm3=settings.density_g_cm3, seed=seed),
    )


def _displaced(base: Atoms, rng: np.random.Generator, sigma_angstrom: float = 0.1) -> Atoms:
    frame = base.copy()
    frame.positions += rng.normal(scale=sigma_angstrom, size=frame.positions.shape)
    frame.wrap()
    return frame


def _structure_analysis(settings: AnalysisBenchSettings):
    from thioglass.analysis.structure import StructureAnalysis, StructureSettings

    return StructureAnalysis(StructureSettings(r_max_angstrom=settings.r_max_angstrom, n_bins=settings.n_bins))


def bench_full_analysis(frames: list[Atoms], settings: AnalysisBenchSettings) -> dict[str, Any]:
    """Frames per second of StructureAnalysis.compute, and the cost of the final result()."""
    analysis = _structure_analysis(settings)
    start = time.perf_counter()
    for frame in frames:
        analysis.compute(frame)
    compute_s = time.perf_counter() - start
    start = time.perf_counter()
    analysis.result()
    result_s = time.perf_counter() - start
    return {
        "n_atoms": len(frames[0]),
        "n_frames": len(frames),
        "compute_s": compute_s,
        "result_s": result_s,
        "frames_per_s": len(frames) / compute_s,
    }


def check_freud_range(frame: Atoms, settings: AnalysisBenchSettings) -> None:
    """freud's RDF counts no periodic images: r_max must stay below half the cell width."""
    half_width = 0.5 / float(np.max(np.linalg.norm(frame.cell.reciprocal(), axis=1)))
    if settings.r_max_angstrom >= half_width:
        raise ThioglassError(
            f"freud needs r_max below half the cell ({half_width:.2f} Å for {len(frame)} atoms); "
            f"use more atoms (--atoms) or a smaller r_max than {settings.r_max_angstrom} Å"
        )


def bench_rdf(frame: Atoms, settings: AnalysisBenchSettings) -> dict[str, Any]:
    """One g(r) frame through thioglass (all partials) and freud (total), same r_max and bins."""
    import freud

    from thioglass.analysis.rdf import RDF

    check_freud_range(frame, settings)
    ours = RDF(settings.r_max_angstrom, settings.n_bins)
    ours_time = time_calls(lambda: ours.compute(frame), settings.rdf_repeats)
    box = freud.box.Box.from_matrix(frame.cell.array.T)
    # Fractional coordinates map onto freud's box whatever its orientation convention.
    points = box.make_absolute(frame.get_scaled_positions(wrap=True).astype(np.float32))
    theirs = freud.density.RDF(bins=settings.n_bins, r_max=settings.r_max_angstrom)
    freud_times = {}
    for label, threads in (("freud_1_thread", 1), ("freud_all_threads", None)):
        freud.parallel.set_num_threads(threads)
        freud_times[label] = time_calls(lambda: theirs.compute((box, points), reset=True), settings.rdf_repeats)
    freud.parallel.set_num_threads(None)
    check = RDF(settings.r_max_angstrom, settings.n_bins).compute(frame).result()
    return {
        "n_atoms": len(frame),
        "r_max_angstrom": settings.r_max_angstrom,
        "n_bins": settings.n_bins,
        "thioglass_all_partials": ours_time,
        **freud_times,
        "ratio_thioglass_over_freud_1_thread": ours_time["best_s"] / freud_times["freud_1_thread"]["best_s"],
        "ratio_thioglass_over_freud_all_threads": ours_time["best_s"] / freud_times["freud_all_threads"]["best_s"],
        "max_abs_difference_total_g": float(np.max(np.abs(check.total - theirs.rdf))),
    }


def write_trajectory(path: Path, fmt: str, frames) -> Path:
    """Write frames one at a time (never all in memory) as extxyz or a LAMMPS dump."""
    import ase.io

    from thioglass.io.lammps_dump import dump_frame_text

    with open(path, "w") as fd:
        for step, frame in enumerate(frames):
            if fmt == "extxyz":
                ase.io.write(fd, frame, format="extxyz")
            else:
                fd.write(dump_frame_text(frame, timestep=step))
    return path


def _frame_stream(base: Atoms, n_frames: int, seed: int):
    rng = np.random.default_rng(seed)
    return (_displaced(base, rng) for _ in range(n_frames))


def bench_reading(frames: list[Atoms], workdir: Path) -> dict[str, Any]:
    """Frames per second of :func:`thioglass.io.iter_frames` for extxyz and LAMMPS dump files."""
    from thioglass.io import iter_frames

    speeds = {}
    for fmt, name in (("extxyz", "read.extxyz"), ("lammps-dump", "read.dump")):
        path = write_trajectory(workdir / name, fmt, frames)
        start = time.perf_counter()
        n = sum(1 for _ in iter_frames(path))
        speeds[fmt] = {"frames": n, "frames_per_s": n / (time.perf_counter() - start)}
        path.unlink()
    return {"n_atoms": len(frames[0]), **speeds}


def stream_memory(path: Path, settings: AnalysisBenchSettings) -> dict[str, float]:
    """Stream ``path`` through the full analysis and measure memory.

    Returns the peak RSS above the starting RSS (sampled after every frame; includes what the
    allocator keeps after freeing), the peak of Python/numpy allocations traced by tracemalloc,
    and what tracemalloc still sees allocated once the analysis object is gone (a true leak).
    """
    from thioglass.io import iter_frames

    sampler = RSSSampler()
    sampler.start()
    tracemalloc.start()
    traced_start, _ = tracemalloc.get_traced_memory()
    analysis = _structure_analysis(settings)
    for frame in iter_frames(path):
        analysis.compute(frame)
        sampler.sample()
    analysis.result()
    sampler.sample()
    del analysis, frame
    gc.collect()
    traced_end, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "baseline_rss_mb": sampler.baseline_mb,
        "peak_rss_above_baseline_mb": sampler.peak_above_baseline_mb,
        "traced_peak_mb": (traced_peak - traced_start) / 1e6,
        "traced_retained_mb": (traced_end - traced_start) / 1e6,
    }


def bench_streaming_memory(settings: AnalysisBenchSettings, workdir: Path, on_stage: StageCallback) -> dict[str, Any]:
    """Memory while reading + analysing trajectories of increasing length, and its growth per 1000 frames."""
    base = glass_cell(settings.memory_atoms, settings, settings.seed + 1)
    results: dict[str, Any] = {"n_atoms": len(base), "trajectory_lengths": settings.trajectory_lengths}
    for fmt, suffix in (("extxyz", "extxyz"), ("lammps-dump", "dump")):
        # One untimed pass first, so one-time allocations (caches, lazy imports) do not count as growth.
        stream_memory(write_trajectory(workdir / f"warmup.{suffix}", fmt, _frame_stream(base, 2, 0)), settings)
        runs = []
        for n_frames in settings.trajectory_lengths:
            on_stage(f"memory: {n_frames} frames of {len(base)} atoms, {fmt}")
            frames = _frame_stream(base, n_frames, settings.seed + n_frames)
            path = write_trajectory(workdir / f"stream_{n_frames}.{suffix}", fmt, frames)
            start = time.perf_counter()
            memory = stream_memory(path, settings)
            runs.append(
                {
                    "frames": n_frames,
                    "file_mb": path.stat().st_size / 1e6,
                    "seconds": time.perf_counter() - start,
                    **memory,
                }
            )
            path.unlink()
        lengths = [run["frames"] for run in runs]
        results[fmt] = {
            "runs": runs,
            **{
                f"slope_{key}_per_1000_frames": slope_per_1000(lengths, [run[key] for run in runs])
                for key in ("peak_rss_above_baseline_mb", "traced_peak_mb", "traced_retained_mb")
            },
        }
    return results


def run_analysis_benchmark(
    settings: AnalysisBenchSettings | None = None,
    workdir: Path | str | None = None,
    on_stage: StageCallback | None = None,
) -> dict[str, Any]:
    """Run every measurement of this module and return one JSON-ready record.

    Parameters
    ----------
    settings
        Sizes and seeds; default :class:`AnalysisBenchSettings` (a few minutes on 2 cores).
    workdir
        Where the temporary trajectories go (deleted after use); default a temporary directory.
    on_stage
        Called with a short description as each stage starts (for a progress display).
    """
    from thioglass.io.streaming import fix_mmap_threshold

    settings = settings or AnalysisBenchSettings()
    on_stage = on_stage or (lambda message: None)
    threshold_fixed = fix_mmap_threshold()  # as `thioglass analyze` runs
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp_path = Path(tmp)
        on_stage(f"building a {settings.n_atoms}-atom {settings.composition} cell")
        base = glass_cell(settings.n_atoms, settings, settings.seed)
        check_freud_range(base, settings)
        # Memory next: later stages grow the heap, and RSS growth then hides in the free space.
        memory = bench_streaming_memory(settings, tmp_path, on_stage)
        frames = list(_frame_stream(base, settings.timing_frames, settings.seed))
        on_stage("g(r): thioglass vs freud")
        rdf = bench_rdf(frames[0], settings)
        on_stage(f"full analysis: {len(frames)} frames of {len(base)} atoms")
        full = bench_full_analysis(frames, settings)
        on_stage("reading extxyz and LAMMPS dump files")
        reading = bench_reading(frames, tmp_path)
    return {
        "benchmark": "analysis",
        "settings": asdict(settings),
        "machine": {**machine_info(), "glibc_mmap_threshold_fixed": threshold_fixed},
        "full_analysis": full,
        "rdf": rdf,
        "reading": reading,
        "streaming_memory": memory,
    }
