"""Run ``tspcm`` in a subprocess, then report the simulated instruments' own output state.

    python run_child.py run smu-steps --sim --seed 7 ...

After the command returns, the virtual SMU and pulse generator of the bench ``seed=<N>`` are asked
directly (``:OUTP?`` / ``OUTP1?``, bypassing the VISA link) and the answers printed as
``SMU_OUTPUT=<0|1>`` and ``AWG_OUTPUT=<0|1>``; the exit code is the command's.
"""

import sys

from tspcm_lab import cli

if __name__ == "__main__":
    argv = sys.argv[1:]
    code = cli.main(argv)
    seed = argv[argv.index("--seed") + 1]
    import pyvisa_tspcm

    instruments = pyvisa_tspcm.get_bench(f"seed={seed}").instruments
    print(f"SMU_OUTPUT={instruments['GPIB0::18::INSTR'].handle(':OUTP?')}", flush=True)
    print(f"AWG_OUTPUT={instruments['GPIB0::10::INSTR'].handle('OUTP1?')}", flush=True)
    sys.exit(code)
