"""Run ``tspcm bench ...`` in-process through the bench command's own parser (independent of
which other subcommands exist in the working tree)."""

import argparse

from tspcm_lab.commands import bench as bench_command


def run_bench_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tspcm")
    bench_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
