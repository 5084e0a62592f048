"""PyVISA backend for the simulated TS-PCM bench (``visa_library="@tspcm"``).

PyVISA imports ``pyvisa_<name>`` for ``@<name>``; this package lives under ``sim_backend/`` in the
source tree and is installed as the top-level module ``pyvisa_tspcm``.
"""
