"""Structure and trajectory input/output.

Reading streams: :func:`iter_frames` yields one :class:`ase.Atoms` per selected frame and
never holds a whole trajectory in memory. :func:`write_structure` writes one structure in the
format its file name asks for.
"""

from thioglass.io.formats import detect_format, parse_frames
from thioglass.io.read import count_frames, iter_frames, read_frame
from thioglass.io.write import write_structure

__all__ = ["count_frames", "detect_format", "iter_frames", "parse_frames", "read_frame", "write_structure"]
