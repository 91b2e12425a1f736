"""Analysis of structures and trajectories (section 2.3 of the paper).

Objects take their parameters in the constructor and accumulate with ``compute(frame)``; pure
numpy kernels sit underneath. Structure: :class:`~thioglass.analysis.structure.StructureAnalysis`
(density, g(r), neutron S(Q), Q^n/E^n, environments). Mechanics:
:mod:`~thioglass.analysis.elastic`. Transport: :mod:`~thioglass.analysis.diffusion` and
:mod:`~thioglass.analysis.conductivity`. Paddle-wheel: :mod:`~thioglass.analysis.rotation`.
"""

from thioglass.analysis.density import Density, density_g_cm3
from thioglass.analysis.rdf import RDF
from thioglass.analysis.shortrange import ShortRangeOrder
from thioglass.analysis.structure import StructureAnalysis, StructureSettings
from thioglass.analysis.structure_factor import NeutronStructureFactor

__all__ = ["RDF", "Density", "NeutronStructureFactor", "ShortRangeOrder", "StructureAnalysis",
           "StructureSettings", "density_g_cm3"]
