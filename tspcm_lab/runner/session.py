"""An open bench with what the run file needs to know about it (simulated or real, spec, seed)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _split_library(library: str) -> tuple[str, str]:
    spec, _, name = library.rpartition("@")
    return spec, name


def simulated_spec(existing: str, seed: int | None, options: str = "") -> str:
    """The simulated bench spec: the existing options, the seed, then ``options`` (later wins)."""
    parts = [p.strip() for p in existing.split(";") if p.strip() and p.strip() not in ("default", "unset")]
    if seed is not None:
        parts = [p for p in parts if not p.startswith("seed=")] + [f"seed={int(seed)}"]
    parts += [p.strip() for p in (options or "").split(";") if p.strip()]
    return ";".join(parts)


@dataclass
class BenchSession:
    """An open bench with what the run file needs to know about it."""

    bench: Any  #: tspcm_lab.bench.Bench
    simulated: bool
    spec: str = ""  #: the simulated bench spec ("seed=42;array=4x4"), "" for a real bench
    seed: int | None = None
    served: Any = None  #: the simulated bench's own process (tspcm_lab.served.ServedBench), if it has one

    @property
    def name(self) -> str:
        return self.bench.config.name

    @classmethod
    def open(
        cls,
        source: str | Path | None = "sim",
        *,
        seed: int | None = None,
        sim_options: str = "",
        require: Iterable[str] = (),
        fresh: bool = True,
        strict_options: bool = True,
        own_process: bool = False,
    ) -> BenchSession:
        """Open a bench file or built-in name (None = "sim").

        A bench whose every role is reached through ``@tspcm`` is simulated: the seed and ``sim_options``
        (e.g. ``"array=4x4;fault=smu:drop=50"``) go into its spec (no seed: a random one, recorded), and
        with ``fresh`` the simulated bench is built anew, so a run is reproducible from its seed. For a
        real bench the seed is only recorded and ``sim_options`` are refused (ignored when not
        ``strict_options``: a campaign's array options do not stop it from running on a real bench).
        With ``own_process`` a simulated bench runs in a child process (``tspcm sim serve``, see
        :mod:`tspcm_lab.served`), reached over TCP, its virtual clock included: the device model never
        holds this process's interpreter lock (the GUI), and the bench is always fresh.
        Raises BenchConfigError / BenchOpenError / ValueError.
        """
        from tspcm_lab.bench import Bench, load_bench_config

        config = load_bench_config(source if source is not None else "sim")
        libraries = {role.visa_library for role in config.roles.values()}
        simulated = bool(libraries) and all(_split_library(lib)[1] == "tspcm" for lib in libraries)
        spec = ""
        if simulated:
            existing = {_split_library(lib)[0] for lib in libraries}
            if len(existing) > 1:
                raise ValueError(
                    f"{config.path}: the roles use different simulated benches ({sorted(existing)}); "
                    f"a run needs one bench"
                )
            existing_spec = existing.pop()
            if seed is None:  # the bench file's own seed, else a fresh one (recorded: the run can be repeated)
                given = [p.split("=", 1)[1] for p in existing_spec.split(";") if p.strip().startswith("seed=")]
                seed = int(given[-1]) if given else new_seed()
            spec = simulated_spec(existing_spec, seed, sim_options)
            if own_process:
                return cls._open_served(config, spec, seed, sim_options, require)
            config = config.with_visa_library(f"{spec}@tspcm")
            import pyvisa_tspcm

            if fresh:
                pyvisa_tspcm.discard_bench(spec)
            try:  # build the bench now: a bad option is the user's input (exit 2), not an instrument's fault
                pyvisa_tspcm.get_host(spec)
            except ValueError as exc:
                given = f"simulated bench options {sim_options!r}" if sim_options else f"bench {config.path}"
                raise ValueError(f"{given}: {' '.join(str(exc).split())}") from None
        elif sim_options and strict_options:
            raise ValueError(
                f"simulated bench options ({sim_options!r}) need a simulated bench (--sim), not {config.path}"
            )
        bench = Bench.open(config, require=tuple(require))
        return cls(bench=bench, simulated=simulated, spec=spec, seed=seed)

    @classmethod
    def _open_served(
        cls, config, spec: str, seed: int | None, sim_options: str, require: Iterable[str]
    ) -> BenchSession:
        from tspcm_lab.bench import Bench
        from tspcm_lab.served import ServedBench

        try:
            served = ServedBench.start(spec)
        except ValueError as exc:
            given = f"simulated bench options {sim_options!r}" if sim_options else f"bench {config.path}"
            raise ValueError(f"{given}: {' '.join(str(exc).split())}") from None
        except RuntimeError as exc:
            from tspcm_lab.bench import BenchOpenError

            raise BenchOpenError({"bench": str(exc)}) from None
        try:
            bench = Bench.open(served.bench_config(config), require=tuple(require))
        except BaseException:
            served.stop()
            raise
        bench.clock = served.clock()
        return cls(bench=bench, simulated=True, spec=spec, seed=seed, served=served)

    def snapshot(self) -> dict:
        """The bench snapshot for the run file; a simulated bench adds its spec and its own state
        (wiring, device parameters with provenance, the model's state)."""
        snap = self.bench.snapshot()
        if self.simulated:
            simulation: dict[str, Any] = {"spec": self.spec, "visa_library": f"{self.spec}@tspcm"}
            if self.served is not None:
                simulation["visa_library"] = "@py"
                simulation["process"] = "own (tspcm sim serve)"
            try:
                if self.served is not None:
                    simulation.update(self.served.snapshot())
                else:
                    import pyvisa_tspcm

                    simulation.update(pyvisa_tspcm.get_bench(self.spec).snapshot())
            except Exception as exc:  # noqa: BLE001 - the run goes on; the snapshot says why it is short
                simulation["snapshot_error"] = f"{type(exc).__name__}: {exc}"
            snap["simulation"] = simulation
        return snap

    def all_off(self) -> list[str]:
        return self.bench.all_off()

    def close(self) -> list[str]:
        """Every output off, then the connections closed (and a simulated bench's own process ended);
        returns the problems met."""
        if self.bench.closed:
            return []
        problems = self.bench.all_off()
        self.bench.close()
        if self.served is not None:
            self.served.stop()
        return problems

    def __enter__(self) -> BenchSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def new_seed() -> int:
    """A random seed for a simulated run that was given none (recorded, so the run can be repeated)."""
    return random.SystemRandom().randrange(1, 2**31 - 1)
