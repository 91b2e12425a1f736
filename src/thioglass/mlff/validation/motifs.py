"""Check 3: do the crystals keep their bonding motifs in the model's MD as they do in the reference's?

For each crystal of :data:`~thioglass.analysis.motifs.CRYSTAL_MOTIFS` and each temperature, the model runs
NVT MD (LAMMPS for a DeePMD model, fast, ``model_md_ps``) from the same supercell as the reference's run of
check 1 (ASE, ``reference_md_ps``, shared with check 1: the same folder, run once). Motifs are counted with
the 2.6 Å short-range-order analysis in every frame and averaged over the last ``motif_last_fraction`` of
each run; a motif is lost when the model keeps less than ``1 - motif_tolerance`` of the reference's count
(:func:`~thioglass.analysis.motifs.motif_verdict`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from thioglass.analysis.motifs import (
    CRYSTAL_MOTIFS,
    last_frames_mean,
    motif_counts,
    motif_verdict,
)
from thioglass.io.atomic import write_json
from thioglass.md.protocol import Protocol, Stage
from thioglass.mlff.validation.heldout import reference_jobs, run_name, run_reference_md
from thioglass.mlff.validation.settings import ValidationSettings
from thioglass.mlff.validation.subject import Subject, crystal_cell, crystal_list
from thioglass.reference.label import LabelStore

Log = Callable[[str], None]


def model_protocol(temperature_k: float, settings: ValidationSettings) -> Protocol:
    stage = Stage("nvt", "nvt", settings.model_md_ps, temperature_k, tdamp_ps=settings.tdamp_ps,
                  dump_every_ps=settings.model_dump_every_ps)
    return Protocol((stage,), timestep_fs=settings.timestep_fs, seed=settings.seed)


def motif_crystals(subject: Subject, settings: ValidationSettings) -> tuple[str, ...]:
    # None: every crystal with motifs; an empty list: none.
    names = crystal_list(settings.motif_crystals, subject) if settings.motif_crystals is not None else tuple(
        name for name in CRYSTAL_MOTIFS if name in crystal_list(None, subject))
    return tuple(name for name in names if name in CRYSTAL_MOTIFS)


def _frames(result: Any) -> list:
    from thioglass.io import iter_frames

    return list(iter_frames(result.stages[0].trajectory))


def compare_run(name: str, temperature_k: float, model_result: Any, reference_result: Any,
                settings: ValidationSettings) -> dict:
    """Motif counts at the start and at the end of both runs, with the verdict per motif."""
    motifs = CRYSTAL_MOTIFS[name]
    reference_frames = _frames(reference_result)
    initial = motif_counts(reference_frames[0], motifs)
    counts = {who: last_frames_mean(_frames(result) if who == "model" else reference_frames, motifs,
                                    last_fraction=settings.motif_last_fraction)
              for who, result in (("model", model_result), ("reference", reference_result))}
    rows = {motif: {"initial": initial[motif], "model": counts["model"][motif],
                    "reference": counts["reference"][motif],
                    "verdict": motif_verdict(counts["model"][motif], counts["reference"][motif], initial[motif],
                                             tolerance=settings.motif_tolerance)}
            for motif in motifs}
    return {"crystal": name, "temperature_k": temperature_k, "motifs": rows,
            "passed": all(row["verdict"] != "lost" for row in rows.values())}


def run_motifs(subject: Subject, settings: ValidationSettings, out: Path, *, threads: int, client: Any,
               log: Log) -> dict:
    """Check 3 (cached in ``out/motifs.json``); a run that blows up counts as a failure of that potential."""
    from thioglass.md.engine import make_engine
    from thioglass.md.jobs import MDJob, run_jobs

    path = out / "motifs.json"
    if path.exists():
        return json.loads(path.read_text())
    names = motif_crystals(subject, settings)
    temperatures = settings.motif_temperatures_k
    cells = {name: crystal_cell(name, subject) for name in names}
    reference = run_reference_md(reference_jobs(cells, temperatures, subject, settings, out, threads),
                                 LabelStore(out / "labels"), out, client, log)
    engine = make_engine(subject.model, threads=threads)
    jobs = [MDJob(run_name(name, t), atoms, model_protocol(t, settings), str(out / "md" / "model" / run_name(name, t)),
                  engine) for name, atoms in cells.items() for t in temperatures]
    log(f"model MD: {len(jobs)} runs")
    model = run_jobs(jobs, client, on_done=lambda name, _: log(f"  model {name} done"))
    model.raise_unexpected()
    runs, failed = [], {**model.messages()}
    for name in names:
        for t in temperatures:
            key = run_name(name, t)
            if key in model.results and key in reference["results"]:
                runs.append(compare_run(name, t, model.results[key], reference["results"][key], settings))
            elif key in model.messages():
                runs.append({"crystal": name, "temperature_k": t, "motifs": {}, "passed": False,
                             "error": f"the model's MD failed: {model.messages()[key]}"})
    failed |= {f"reference {k}": v for k, v in reference["failures"].items()}
    result = {"runs": runs, "failed": failed, "tolerance": settings.motif_tolerance,
              "last_fraction": settings.motif_last_fraction}
    write_json(path, result)
    return result
