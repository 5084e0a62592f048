"""tspcm-lab: instrument control and characterization of threshold-switching phase-change memory cells."""

from importlib.metadata import PackageNotFoundError, version as _version
from pathlib import Path

try:
    __version__ = _version("tspcm-lab")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

#: The repository's ``data/`` folder: default device parameters, bench configs, example runs.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
