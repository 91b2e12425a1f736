"""Analysis of structures and trajectories (section 2.3 of the paper): pure kernels over frames.

The rule that splits :mod:`thioglass.analysis` from :mod:`thioglass.properties`: code here takes
frames (``ase.Atoms``) and numbers and returns numbers. It runs no calculator, no MD and reads or
writes no files; a caller streams frames in with :mod:`thioglass.io`. Anything that needs a
calculator, an MD run or files is a step in :mod:`thioglass.properties`.

Objects take their parameters in the constructor and accumulate with ``compute(frame)``; numpy
kernels sit underneath. Structure: :class:`~thioglass.analysis.structure.StructureAnalysis`
(density, g(r), neutron S(Q), Q^n/E^n, environments). Mechanics: :mod:`~thioglass.analysis.elastic`
(strains, stress differences, Voigt-Reuss-Hill). Transport: :mod:`~thioglass.analysis.msd`, :mod:`~thioglass.analysis.diffusion`
and :mod:`~thioglass.analysis.conductivity`. Paddle-wheel: :mod:`~thioglass.analysis.rotation`.
"""

from thioglass.analysis.density import Density, density_g_cm3
from thioglass.analysis.rdf import RDF
from thioglass.analysis.shortrange import ShortRangeOrder
from thioglass.analysis.structure import StructureAnalysis, StructureSettings
from thioglass.analysis.structure_factor import NeutronStructureFactor

__all__ = ["RDF", "Density", "NeutronStructureFactor", "ShortRangeOrder", "StructureAnalysis",
           "StructureSettings", "density_g_cm3"]
