"""Toy ASE calculators for fast tests of ``thioglass validate-model`` (``ase:toy_calculators:ToyLJ``).

Not physical force fields: one Lennard-Jones pair potential for every element pair, with a minimum
near the Li-S and P-S distances, so that the bundled crystals stay bound and MD stays stable. The
"broken" variants are the same potential softened and stretched, as a badly fitted model might be.
"""

from ase.calculators.lj import LennardJones


class ToyLJ(LennardJones):
    """The toy reference: sigma 1.8 Å, epsilon 0.1 eV, smooth cutoff at 4.5 Å."""

    def __init__(self, **kwargs):
        super().__init__(sigma=1.8, epsilon=0.1, rc=4.5, ro=4.0, smooth=True, **kwargs)


class SoftToyLJ(LennardJones):
    """A broken model of ToyLJ: 30 % softer and 6 % longer bonds."""

    def __init__(self, **kwargs):
        super().__init__(sigma=1.8 * 1.06, epsilon=0.1 * 0.7, rc=4.5, ro=4.0, smooth=True, **kwargs)
