"""tspcm-lab: instrument control and characterization of threshold-switching phase-change memory cells."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("tspcm-lab")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
