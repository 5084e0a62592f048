"""Feature extraction for TS-PCM measurements (see docs/analysis.md).

Extractors on plain arrays, one module per family: ``switching`` (Vth, Vhold, Ion/Ioff, R_on; in
``procedures.library.switching``, since procedures extract Vth as they run; so are the line fits,
``procedures.library.fitting``), ``plasticity`` (NeuroSim fit and figures of merit), ``intrinsic`` (threshold / firing versus conductance),
``learning`` (to-criterion counts, savings, pattern accuracy) and ``drift`` (drift exponent, endurance,
delay, recovery). Run-level wrappers (``runs``) map each procedure to its extractor through a registry
(``registry``) and ``batch`` runs them over many files.
"""

from tspcm_lab.analysis.features import ANALYSIS_VERSION, Feature

__all__ = ["ANALYSIS_VERSION", "Feature"]
