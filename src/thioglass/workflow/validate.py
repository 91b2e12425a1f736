"""``thioglass validate``: the paper's five glasses and the Li10SiP2S12 lattice against Tables 1-7.

Layout of the output folder::

    <composition>/          one ``thioglass run`` folder per glass (resumable, with its report)
    Li10SiP2S12/lattice.json
    validation.json         every comparison row: ours, the paper's and the experiments' values, deviations
    validation.html         one page with all of them
    summary.json
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from thioglass.paper.values import GLASSES, LATTICE_REFERENCES
from thioglass.workflow.settings import RunSettings
from thioglass.workflow.stages import NullReporter, Reporter
from thioglass.workflow.convergence import convergence


def run_validation(settings: RunSettings, potential: str | None, out_dir: Path | str, *,
                   glasses: Iterable[str] = GLASSES, lattice: bool = True, threads: int = 2, workers: int = 1,
                   scheduler: str | None = None, skip: Iterable[str] = (), reporter: Reporter | None = None,
                   ensemble: Sequence[str] | None = None) -> dict:
    """Run every glass (:func:`~thioglass.workflow.run.run_glass`) and the lattice, and compare.

    Parameters
    ----------
    settings
        One :class:`~thioglass.workflow.settings.RunSettings` for every glass.
    potential
        As for ``thioglass run``.
    out_dir
        Output folder (layout in the module docstring); rerunning resumes.
    glasses
        Compositions to run (the paper's five by default).
    lattice
        Also run the Li10SiP2S12 lattice at ``settings.lattice.temperature_k``.
    ensemble
        Ensemble members of a user's model, as for ``thioglass run``; each glass's entry carries its
        ``model_deviation``.

    Returns
    -------
    dict
        What ``validation.json`` holds.
    """
    from thioglass.composition import parse_composition
    from thioglass.md.quench import check_inputs
    from thioglass.runinfo import RunSummary
    from thioglass.report.html import render_validation_report
    from thioglass.io.atomic import write_json, write_text
    from thioglass.workflow.run import STAGES, check_disk_space, check_skip, estimate_disk_bytes, run_glass

    out = Path(out_dir).resolve()
    labels = [parse_composition(g).label for g in glasses]
    _, checked = check_inputs(labels[0] if labels else GLASSES[0], potential, settings.quench)
    skipped = check_skip(skip)
    todo = [label for label in labels if not (out / label / "results.json").exists()]
    check_disk_space(out, len(todo) * estimate_disk_bytes(settings, [s for s in STAGES if s not in skipped]))
    reporter = reporter or NullReporter()
    summary = RunSummary("validate", {"preset": settings.preset, "potential": checked, "glasses": labels,
                                      "lattice": lattice, "settings": asdict(settings), "threads": threads,
                                      "workers": workers, "skip": sorted(skipped)})
    entries = []
    for label in labels:
        reporter.stage(label, "start")
        with summary.stage(label):
            results = run_glass(label, settings, potential, out / label, threads=threads, workers=workers,
                                scheduler=scheduler, skip=skipped, reporter=reporter, ensemble=ensemble)
        reporter.stage(label, "done")
        entries.append({"composition": label, "paper_glass": results["paper_glass"],
                        "report": f"{label}/report.html", "comparison": results["comparison"],
                        "convergence": results.get("convergence") or convergence(results),  # a run from before it
                        "model_deviation": results.get("model_deviation", {})})
    lattice_record = _lattice(potential, settings, out, threads, reporter, summary, ensemble) if lattice else None
    validation = {"preset": settings.preset, "potential": checked or "default",
                  "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "glasses": entries,
                  "lattice": lattice_record, "timings_s": summary.timings_s}
    write_json(out / "validation.json", validation)
    write_text(out / "validation.html", render_validation_report(validation))
    for name in ("validation.json", "validation.html"):
        summary.add_output(name, out / name)
    summary.write(out / "summary.json")
    return validation


def _lattice(potential: str | None, settings: RunSettings, out: Path, threads: int, reporter: Reporter,
             summary, ensemble: Sequence[str] | None = None) -> dict:
    from thioglass.paper.compare import row
    from thioglass.workflow.lattice import CRYSTAL, run_lattice

    reporter.stage("lattice", "start")
    start = time.perf_counter()
    result = run_lattice(potential, settings.lattice, out / CRYSTAL, threads,
                         progress=lambda done, total: reporter.job("lattice", CRYSTAL, done, total),
                         ensemble=tuple(ensemble) if ensemble else None)
    summary.timings_s["lattice"] = result.get("wall_s", round(time.perf_counter() - start, 3))
    reporter.stage("lattice", "done")
    comparison = [row(key, result[key], result[key.replace("_angstrom", "_std_angstrom")], ref)
                  for key, refs in LATTICE_REFERENCES.items() for ref in refs]
    return {**result, "comparison": comparison}
