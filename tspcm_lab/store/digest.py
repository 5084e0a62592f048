"""A checksum over a run's metadata: root attributes, /parameters, /metadata and /bench.

HDF5 checksums its object headers and (with Fletcher-32) our data chunks, but not the global heap where
variable-length strings live: a flipped bit there changes a text (a resource name, a unit, the status)
without any error. So the writer stores ``metadata_crc32``, the CRC-32 of the metadata exactly as the
reader reads it back, and the reader recomputes it: a mismatch is a damaged file, not a different run.
The writer updates it whenever it writes metadata (before going live, and at close); `tspcm repair`
after its copy. A program that edits the metadata of a run on purpose (h5py in ``"a"`` mode) calls
`write_digest` afterwards, or the run reads as damaged.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

#: root attribute holding the checksum (8 hex digits); files without it are not checked
DIGEST_ATTR = "metadata_crc32"


def metadata_digest(
    attrs: Mapping[str, Any], parameters: Mapping[str, Any], metadata: Mapping[str, Any], bench: Mapping[str, Any]
) -> str:
    """CRC-32 (8 hex digits) of the metadata as the reader holds it: root attributes (``py_value``'d,
    the checksum itself left out), parameter and metadata records, the bench tree."""

    def records(items: Mapping[str, Any]) -> list:
        return [[key, r.value, r.units, r.label, r.kind, r.extra] for key, r in sorted(items.items())]

    text = json.dumps(
        [{k: v for k, v in attrs.items() if k != DIGEST_ATTR}, records(parameters), records(metadata), bench],
        sort_keys=True,
        default=str,
    )
    return f"{zlib.crc32(text.encode('utf-8', 'surrogatepass')):08x}"


def read_metadata(h5) -> tuple[dict, dict, dict, dict]:
    """(attrs, parameters, metadata, bench) of an open run file, as the reader reads them."""
    from tspcm_lab.store.params import read_parameters
    from tspcm_lab.store.tree import py_value, read_tree

    attrs = {name: py_value(value) for name, value in h5.attrs.items()}
    parameters = read_parameters(h5["parameters"]) if "parameters" in h5 else {}
    metadata = read_parameters(h5["metadata"]) if "metadata" in h5 else {}
    bench = read_tree(h5["bench"]) if "bench" in h5 else {}
    return attrs, parameters, metadata, bench


def write_digest(h5, unchanged: tuple[dict, dict, dict] | None = None) -> tuple[dict, dict, dict]:
    """Store the checksum of the metadata now in ``h5`` (open for writing, not in SWMR mode); returns the
    (parameters, metadata, bench) it was computed over.

    ``unchanged``: what an earlier call on the same file returned, from a caller that knows /parameters,
    /metadata and /bench have not been written since (the writer at close when no metadata came late):
    then only the root attributes are read again. Reading a run's parameters back costs ~0.3 ms each in
    the HDF5 library, so the writer's second checksum (at close) no longer reads them twice."""
    if unchanged is None:
        attrs, parameters, metadata, bench = read_metadata(h5)
    else:
        from tspcm_lab.store.tree import py_value

        attrs = {name: py_value(value) for name, value in h5.attrs.items()}
        parameters, metadata, bench = unchanged
    h5.attrs[DIGEST_ATTR] = metadata_digest(attrs, parameters, metadata, bench)
    return parameters, metadata, bench
