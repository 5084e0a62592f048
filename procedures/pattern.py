"""pattern: memorize an N x M binary pattern on a TS-PCM array through the switch matrix.

The pattern is given as text ("1001/0110/0110/1001": rows separated by '/', ';' or newlines) or as a
small text file holding that text. Before the first training every cell is RESET (a blank array).
One epoch: a spike train to each target cell in turn (the matrix connects one cell, a 1 x 1
rectangle, so no other cell of its row or column is driven), its firing captured by the scope, then
the conductance map: every cell of the array read with the SMU through the matrix. Training stops
at the criterion: pattern accuracy >= ``accuracy_criterion``, accuracy being the fraction of cells
whose (G >= ``read_threshold_S``) equals the pattern, and (``require_firing``) every target cell
firing with probability >= ``criterion_probability`` in that epoch. Forgetting: a partial RESET of
every target cell. Retraining: epochs until the same criterion. Epochs to criterion both times,
the savings (E_first - E_retrain) / E_first and the final accuracy are logged; the analysis
recomputes them from the rows.

Rows (docs/analysis.md): one per cell per epoch: ``Stage`` (0 first training, 1 retraining),
``Epoch`` (from 1 within the stage), ``Row``, ``Column``, ``Conductance (S)``, plus ``Target``
(1/0), ``Firing probability`` (of the cell's train in that epoch; NaN for non-target cells) and
``Accuracy`` (of that epoch's map). The map before each stage (after the blank RESET, after
forgetting) is stored as a waveform ``map_stage<k>_start`` (conductance against cell index r*M + c).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, Parameter

from procedures import common
from procedures.base import ParameterError, TspcmProcedure
from procedures.learning_loop import savings
from procedures.spike_train import ProgramParametersMixin, SpikeParametersMixin
from tspcm_lab.analysis.learning import parse_pattern

log = logging.getLogger(__name__)

#: default target: the two diagonals of a 4 x 4 array (an "X"), 8 target and 8 non-target cells
DEFAULT_PATTERN = "1001/0110/0110/1001"
#: a pattern file is read only if it is this small (bytes): it holds one short text pattern
MAX_PATTERN_FILE_BYTES = 4096


def load_pattern(text: str, parameter: str = "pattern") -> np.ndarray:
    """The boolean pattern from its text, or from a small file holding that text."""
    source = str(text or "").strip()
    if not source:
        raise ParameterError(parameter, "is empty; give rows of 1/0 separated by '/', e.g. "
                             f"'{DEFAULT_PATTERN}', or the path of a small text file holding that")
    if not set(source) <= set("01#.-xX/;,\n\r\t "):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ParameterError(parameter, f"{source!r} is neither a pattern of 1/0 rows (e.g. "
                                 f"'{DEFAULT_PATTERN}') nor an existing file")
        if path.stat().st_size > MAX_PATTERN_FILE_BYTES:
            raise ParameterError(parameter, f"{path} is larger than {MAX_PATTERN_FILE_BYTES} bytes; a pattern "
                                 "file holds one short pattern")
        source = path.read_text(encoding="utf-8")
    try:
        return parse_pattern(source)
    except ValueError as exc:
        raise ParameterError(parameter, str(exc)) from None


def pattern_text(pattern: np.ndarray) -> str:
    return "/".join("".join("1" if v else "0" for v in row) for row in pattern)


class PatternProcedure(SpikeParametersMixin, ProgramParametersMixin, common.ConductanceReadMixin,
                       TspcmProcedure):
    """Memorize a binary pattern on an array: epochs to criterion, forget, retrain."""

    name = "pattern"
    REQUIRED_ROLES = ("smu", "pulse", "scope", "matrix")
    KEY_PARAMETERS = ("pattern", "spike_amplitude_V", "read_threshold_S", "forget_amplitude_V")
    BENCH_LIMITS = {"spike_amplitude_V": ("pulse", "voltage"), "set_amplitude_V": ("pulse", "voltage"),
                    "reset_amplitude_V": ("pulse", "voltage"), "forget_amplitude_V": ("pulse", "voltage")}
    DATA_COLUMNS = ["Stage", "Epoch", "Row", "Column", "Conductance (S)", "Target", "Firing probability",
                    "Accuracy", "Time (s)"]

    spike_amplitude_V = FloatParameter("Spike amplitude", units="V", minimum=0.1, maximum=10.0, default=1.85)
    spike_period_s = FloatParameter("Spike period", units="s", minimum=50e-9, maximum=1.0, default=2e-6)
    pattern = Parameter("Pattern (1/0 rows separated by /, or a file)", default=DEFAULT_PATTERN)
    read_threshold_S = FloatParameter("Read threshold", units="S", minimum=1e-7, maximum=1e-2, default=30e-6)
    accuracy_criterion = FloatParameter("Accuracy criterion", minimum=0.0, maximum=1.0, default=1.0)
    require_firing = BooleanParameter("Criterion also needs every target cell firing", default=True)
    criterion_probability = FloatParameter("Criterion firing probability", minimum=0.01, maximum=1.0, default=0.9)
    max_epochs = IntegerParameter("Max epochs per training", minimum=1, maximum=10_000, default=20)
    forget_amplitude_V = FloatParameter("Forget (partial RESET) amplitude", units="V", minimum=0.1,
                                        maximum=10.0, default=2.5)
    forget_width_s = FloatParameter("Forget (partial RESET) width", units="s", minimum=16e-9, maximum=1e-3,
                                    default=50e-9)
    store_traces = BooleanParameter("Store captured traces", default=False)

    def target(self) -> np.ndarray:
        return load_pattern(self.pattern)

    def check_relations(self) -> None:
        self.check_spike_parameters()
        target = self.target()
        if not target.any():
            raise ParameterError("pattern", "has no 1 cell: nothing to memorize")
        if self.forget_amplitude_V <= self.spike_amplitude_V:
            raise ParameterError("forget_amplitude_V", f"a partial RESET must be above the spike amplitude "
                                 f"({self.spike_amplitude_V:g} V), got {self.forget_amplitude_V:g} V")

    def check_bench(self, bench) -> None:
        target = self.target()
        matrix = bench.matrix
        rows, cols = getattr(matrix, "rows", None), getattr(matrix, "cols", None)
        if rows is None or cols is None or target.shape[0] > rows or target.shape[1] > cols:
            raise ParameterError("pattern", f"is {target.shape[0]} x {target.shape[1]} cells but the bench's "
                                 f"switch matrix reaches {rows} x {cols} ({bench.config.path}); allowed: up to "
                                 f"{rows} x {cols}")
        # record the normalized pattern text: the analysis reads it back from the run file
        self.pattern = pattern_text(target)

    # ------------------------------------------------------------------ steps
    def connect(self, cell) -> None:
        self.bench.matrix.connect([tuple(int(x) for x in cell)])

    def read_map(self, shape) -> np.ndarray:
        """The conductance of every cell (S), one SMU read per cell through the matrix."""
        g = np.full(shape, np.nan)
        for r in range(shape[0]):
            for c in range(shape[1]):
                self.connect((r, c))
                g[r, c] = self.read().conductance_S
        return g

    def reset_cells(self, cells, amplitude_V: float, width_s: float) -> None:
        for cell in cells:
            self.connect(cell)
            common.reset_pulse(self.bench, amplitude_V, width_s)

    def accuracy(self, g_map: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean((g_map >= self.read_threshold_S) == target))

    def emit_start_map(self, stage: int, g_map: np.ndarray) -> None:
        self.emit("waveform", {"name": f"map_stage{stage}_start", "y": g_map.ravel(),
                               "x": np.arange(g_map.size, dtype=float),
                               "y_label": "Conductance (S)", "x_label": "Cell (row * columns + column)"})

    def train(self, stage: int, target: np.ndarray, clock, progress_base: int) -> float | None:
        """Epochs until the criterion; the epochs to criterion (NaN: not reached) or None if stopped."""
        cells = [tuple(c) for c in np.argwhere(target)]
        self.emit_start_map(stage, self.read_map(target.shape))
        train = self.spike_train()
        for epoch in range(1, self.max_epochs + 1):
            prob = np.full(target.shape, np.nan)
            for n, cell in enumerate(cells):
                if self.should_stop():
                    return None
                self.connect(cell)
                response = self.fire(train, configure=(epoch == 1 and n == 0))
                prob[cell] = response.probability
                if self.store_traces:
                    from procedures.spike_train import emit_trace

                    emit_trace(self, f"stage{stage}_epoch{epoch}_r{cell[0]}c{cell[1]}", response)
            if self.should_stop():
                return None
            t_map = clock.now_s()
            g_map = self.read_map(target.shape)
            acc = self.accuracy(g_map, target)
            for (r, c), g in np.ndenumerate(g_map):
                self.emit("results", {"Stage": stage, "Epoch": epoch, "Row": r, "Column": c, "Conductance (S)": g,
                                      "Target": int(target[r, c]), "Firing probability": prob[r, c],
                                      "Accuracy": acc, "Time (s)": t_map})
            self.report_progress(progress_base + epoch, 2 * self.max_epochs)
            firing_ok = (not self.require_firing) or bool(np.all(prob[target] >= self.criterion_probability))
            log.info("stage %d epoch %d: accuracy %.3f, target cells firing %s", stage, epoch, acc,
                     np.round(prob[target], 2).tolist())
            if acc >= self.accuracy_criterion - 1e-12 and firing_ok:
                return float(epoch)
        log.warning("stage %d: criterion not reached in %d epochs", stage, self.max_epochs)
        return math.nan

    def execute(self) -> None:
        target = self.target()
        clock = common.bench_clock(self.bench)
        all_cells = [(r, c) for r in range(target.shape[0]) for c in range(target.shape[1])]
        self.reset_cells(all_cells, self.reset_amplitude_V, self.reset_width_s)  # a blank array
        e_first = self.train(0, target, clock, 0)
        if e_first is None or self.should_stop():
            return
        self.reset_cells([tuple(c) for c in np.argwhere(target)], self.forget_amplitude_V, self.forget_width_s)
        e_retrain = self.train(1, target, clock, self.max_epochs)
        if e_retrain is None:
            return
        self.report_progress(1, 1)
        log.info("epochs to criterion: first %s, retraining %s; savings %.3f", e_first, e_retrain,
                 savings(e_first, e_retrain))
