"""Installed-distribution records for procedure plugins, written into a directory on sys.path."""

from pathlib import Path


def write_dist_info(site: Path, dist: str, entry_points: dict[str, str], version: str = "0.1") -> Path:
    """A minimal installed-distribution record: METADATA + entry_points.txt in <dist>-<version>.dist-info."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = ["[tspcm_lab.procedures]"] + [f"{name} = {value}" for name, value in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return info
