"""The main job: one glass from composition to report (``thioglass run``) and the paper's validation set."""

from thioglass.workflow.run import run_glass
from thioglass.workflow.settings import ConductivityPlan, LatticeSettings, RunSettings, run_settings

__all__ = ["ConductivityPlan", "LatticeSettings", "RunSettings", "run_glass", "run_settings"]
