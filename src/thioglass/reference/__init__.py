"""Reference labels: pluggable calculators (bundled universal potentials, VASP, any ASE calculator)."""

from thioglass.reference.calculators import DEFAULT_REFERENCE, get_calculator, list_references
from thioglass.reference.label import Label, LabelReport, LabelStore, frame_key, label_atoms, label_frames

__all__ = [
    "DEFAULT_REFERENCE", "Label", "LabelReport", "LabelStore", "frame_key", "get_calculator",
    "label_atoms", "label_frames", "list_references",
]
