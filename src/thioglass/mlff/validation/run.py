"""``validate_model``: the three checks in order, resumable, and the JSON and Markdown they produce.

Layout of the output folder::

    validation-settings.json   the settings; a rerun with other settings is refused
    reference-side.json        what the reference's results depend on (validate-model --reference-from)
    labels/                    reference labels of every MD frame (LabelStore, keyed by frame hash)
    md/reference/<run>/        the reference's MD (ASE), md/model/<run>/ the model's (LAMMPS for DeePMD)
    heldout/<run>.json         the keys of each reference run's labelled frames (written as each run ends)
    minimum/<crystal>/         relaxed cells, volume scans and elastic tensors, one file per step
    heldout.json, minimum.json, motifs.json    each check, written when it is complete
    validation-model.json, model-validation.md the summary with its pass/fail rows

Every step writes its result atomically and a rerun skips what exists, so an interrupted run continues.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json, write_text
from thioglass.mlff.validation.settings import ValidationSettings
from thioglass.mlff.validation.subject import Subject

SETTINGS_FILE = "validation-settings.json"
#: Settings that only judge what was measured: changing them recomputes the verdicts, not the runs.
TARGETS = ("energy_target_mev_per_atom", "force_target_ev_per_angstrom", "lattice_tolerance_percent",
           "density_tolerance_percent", "bulk_modulus_tolerance_percent", "shear_modulus_tolerance_percent",
           "kink_tolerance", "reference_kink_factor", "motif_tolerance", "motif_last_fraction")
SUMMARIES = ("heldout.json", "minimum.json", "motifs.json")


def _measured(record: dict) -> dict:
    # A model file is known by its content, so a checkout at another path (another session) resumes the run.
    kept = {k: v for k, v in record.items() if k != "model" or "model_sha256" not in record}
    return {**kept, "settings": {k: v for k, v in record["settings"].items() if k not in TARGETS}}


def model_identity(model: str) -> dict:
    """The model spec, and the SHA-256 of its file when it is one."""
    import hashlib

    path = Path(model)
    if not path.is_file():
        return {"model": model}
    return {"model": model, "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def check_settings_file(out: Path, subject: Subject, settings: ValidationSettings) -> None:
    """Record what this folder validates. Other runs (settings, model or reference) are refused; other
    targets only drop the three check summaries, which are rebuilt from the cached steps."""
    record = {**model_identity(subject.model), "reference": subject.reference, "settings": asdict(settings)}
    record = json.loads(json.dumps(record))  # tuples as lists, as they come back from the file
    path = out / SETTINGS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        if _measured(stored) != _measured(record):
            raise ThioglassError(f"{out} holds a validation with other settings, model or reference ({path}); "
                                 "use another -o or delete the folder")
        if stored == record:
            return
        for name in SUMMARIES:
            (out / name).unlink(missing_ok=True)
    write_json(path, record)


def validate_model(subject: Subject, settings: ValidationSettings, out: Path, *, preset: str = "custom",
                   threads: int = 1, client: Any = None, log: Callable[[str], None] = print,
                   reference_from: Path | None = None) -> dict:
    """Run (or resume) the three checks and write ``validation-model.json`` and ``model-validation.md``.

    ``reference_from``: another validation folder whose reference results (same reference, cutoff,
    elements and settings) are copied in first instead of being computed again (:mod:`.reuse`)."""
    from thioglass.mlff.validation.heldout import run_heldout
    from thioglass.mlff.validation.minimum import run_minimum
    from thioglass.mlff.validation.motifs import run_motifs
    from thioglass.mlff.validation.report import check_rows, markdown
    from thioglass.mlff.validation.reuse import reuse_reference, write_reference_side

    check_settings_file(out, subject, settings)
    if reference_from is not None:
        log(f"reused {reuse_reference(reference_from, out, subject, settings)} reference files from {reference_from}")
    write_reference_side(out, subject, settings)
    common = {"threads": threads, "client": client, "log": log}
    result = {"model": subject.model, "reference": subject.reference, "cutoff_angstrom": subject.cutoff_angstrom,
              "preset": preset, "settings": asdict(settings)}
    # Cheapest and most telling first: the static crystal checks take minutes per crystal, the motifs' reference
    # runs are shared with check 1, whose many reference runs (hours in the full preset) come last.
    log("check 2: crystals at the reference's minimum")
    result["minimum"] = run_minimum(subject, settings, out, **common)
    log("check 3: bonding motifs in MD")
    result["motifs"] = run_motifs(subject, settings, out, **common)
    log("check 1: reference-driven held-out frames")
    result["heldout"] = run_heldout(subject, settings, out, **common)
    rows = check_rows(result)
    result["checks"] = rows
    result["passed"] = all(row["passed"] for row in rows)
    write_json(out / "validation-model.json", result, indent=1)
    write_text(out / "model-validation.md", markdown(result))
    return result
