"""thioglass: machine-learning force fields and glass simulation for Li2S-SiS2-P2S5 electrolytes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("thioglass")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

from thioglass.errors import ThioglassError

__all__ = ["ThioglassError", "__version__"]
