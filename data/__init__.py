"""The package data of tspcm-lab: default device parameters (device_params.toml), the built-in bench
files (benches/) and the demo campaign (campaigns/).

In the source tree this is the folder ``data/``; installed (wheel or editable), it is the package
``tspcm_data`` (pyproject.toml maps the one to the other), read with importlib.resources, so an
installed copy finds its data wherever it is installed. It holds no code besides :func:`path`, and
imports nothing of the project: every layer may read it.
"""

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """The file or folder ``parts`` (e.g. ``"benches", "sim.toml"``) of the installed package data.

    A filesystem path: pip installs packages unpacked, and bench and campaign files are shown to the
    user by path. A zipped install has no such paths and is refused with this message."""
    resource = files(__name__).joinpath(*parts)
    if not isinstance(resource, Path):
        raise RuntimeError(f"tspcm_data is not installed as plain files ({resource!r}): reinstall with pip")
    return resource
