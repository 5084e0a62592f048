"""pattern: memorize an N x M binary pattern on a TS-PCM array through the switch matrix.

The pattern is given as text ("1001/0110/0110/1001": rows separated by '/', ';' or newlines) or as a
small text file holding that text. The matrix connects one cell at a time (a 1 x 1 rectangle, so no
other cell of its row or column is driven).

1. Blank: every cell is RESET (``reset_amplitude_V``).
2. Calibration (``spike_amplitude_V = 0``, the default), per target cell, since every cell is its own
   device (procedures.library.SpikeCalibrationMixin): the lowest amplitude that fires >= 2 of 20 spikes
   (coarse then fine), then from 30 mV above it the first amplitude where a 40-spike train fires on
   >= 10 %; then the target cells are RESET again. Every train: waveforms ``calibration_r<row>c<col>``.
3. Training, in epochs. An epoch presents the pattern once: a spike train (at the cell's amplitude)
   to every target cell that has not learned yet, then the conductance map (every cell read with the
   SMU through the matrix). A target cell has learned when its last read is >= ``read_threshold_S``
   and (``require_firing``) its last train fired on >= ``criterion_probability`` of its spikes; a
   learned cell gets no more trains (more would crystallize it far beyond the threshold, where a
   partial RESET no longer forgets). The training ends at the criterion: pattern accuracy >=
   ``accuracy_criterion``, accuracy being the fraction of cells whose (G >= ``read_threshold_S``)
   equals the pattern, and every target cell learned.
4. Forgetting: a partial RESET (``forget_amplitude_V`` x ``forget_width_s``) of every target cell.
5. Retraining: epochs until the same criterion.

Epochs to criterion both times, the savings (E_first - E_retrain) / E_first and the final accuracy are
logged; the analysis recomputes them from the rows. The conductance is read with the two-point ON-branch read (:mod:`procedures.library.read`): a blank cell
reads below its range (NaN, counted as unlearned), a learned one as itself.

Rows (docs/analysis.md): one per cell per epoch: ``Stage`` (0 first training, 1 retraining),
``Epoch`` (from 1 within the stage), ``Row``, ``Column``, ``Conductance (S)``, plus ``Target``
(1/0), ``Firing probability`` (of the cell's train in that epoch; NaN when it got none: non-target
or already learned), ``Spike amplitude (V)`` (the cell's; NaN for non-target cells) and ``Accuracy``
(of that epoch's map). The map before each stage (after the blank RESET, after forgetting) is stored
as a waveform ``map_stage<k>_start`` (conductance against cell index r*M + c).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, Parameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure

log = logging.getLogger(__name__)

#: default target: the two diagonals of a 4 x 4 array (an "X"), 8 target and 8 non-target cells
DEFAULT_PATTERN = "1001/0110/0110/1001"
#: share of the progress bar for the per-cell amplitude calibration
CALIBRATION_SHARE = 0.3
#: a pattern file is read only if it is this small (bytes): it holds one short text pattern
MAX_PATTERN_FILE_BYTES = 4096


def load_pattern(text: str, parameter: str = "pattern") -> np.ndarray:
    """The boolean pattern from its text, or from a small file holding that text."""
    source = str(text or "").strip()
    if not source:
        raise ParameterError(
            parameter,
            "is empty; give rows of 1/0 separated by '/', e.g. "
            f"'{DEFAULT_PATTERN}', or the path of a small text file holding that",
        )
    if not set(source) <= set("01#.-xX/;,\n\r\t "):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ParameterError(
                parameter,
                f"{source!r} is neither a pattern of 1/0 rows (e.g. '{DEFAULT_PATTERN}') nor an existing file",
            )
        if path.stat().st_size > MAX_PATTERN_FILE_BYTES:
            raise ParameterError(
                parameter,
                f"{path} is larger than {MAX_PATTERN_FILE_BYTES} bytes; a pattern file holds one short pattern",
            )
        source = path.read_text(encoding="utf-8")
    try:
        return lib.parse_pattern(source)
    except ValueError as exc:
        raise ParameterError(parameter, str(exc)) from None


def pattern_text(pattern: np.ndarray) -> str:
    return "/".join("".join("1" if v else "0" for v in row) for row in pattern)


class PatternProcedure(lib.TrainForgetRetrainMixin, TspcmProcedure):
    """Memorize a binary pattern on an array: epochs to criterion, forget, retrain."""

    name = "pattern"
    REQUIRED_ROLES = ("smu", "pulse", "scope", "matrix")
    KEY_PARAMETERS = ("pattern", "spike_amplitude_V", "read_threshold_S", "forget_amplitude_V")
    DATA_COLUMNS = [
        "Stage",
        "Epoch",
        "Row",
        "Column",
        "Conductance (S)",
        "Target",
        "Firing probability",
        "Spike amplitude (V)",
        "Accuracy",
        "Time (s)",
    ]
    VIEWS = (
        {
            "title": "Conductance map (click a cell: its history)",
            "kind": "map",
            "row": "Row",
            "column": "Column",
            "value": "Conductance (S)",
            "frame": ["Stage", "Epoch"],
            "target_parameter": "pattern",
            "threshold_parameter": "read_threshold_S",
        },
        {
            "title": "Accuracy per epoch",
            "x": "Epoch",
            "y": "Accuracy",
            "series": "Stage",
            "labels": {"0": "first training", "1": "retraining"},
            "x_cumulative": True,
            "events": "Stage",
            "style": "both",
            "hlines": ["accuracy_criterion"],
            "features": ["first_reached", "epochs_first", "epochs_retrain", "savings", "final_accuracy"],
        },
    )

    spike_period_s = FloatParameter("Spike period", units="s", minimum=50e-9, maximum=1.0, default=2e-6)
    pattern = Parameter("Pattern (1/0 rows separated by /, or a file)", default=DEFAULT_PATTERN)
    # within the read's range: a cell that has just learned to fire reads below it and keeps training
    read_threshold_S = FloatParameter("Read threshold", units="S", minimum=1e-7, maximum=1e-2, default=1e-6)
    # every cell its own device: spikes a little further above its firing tail than the learning loop's
    calibration_margin_V = FloatParameter(
        "Calibration margin added to the amplitude found", units="V", minimum=0.0, maximum=1.0, default=0.1
    )
    accuracy_criterion = FloatParameter("Accuracy criterion", minimum=0.0, maximum=1.0, default=1.0)
    require_firing = BooleanParameter("A learned cell must also fire", default=True)
    criterion_probability = FloatParameter("Criterion firing probability", minimum=0.01, maximum=1.0, default=0.9)
    max_epochs = IntegerParameter("Max epochs per training", minimum=1, maximum=10_000, default=80)
    store_traces = BooleanParameter("Store captured traces", default=False)
    stall_epochs = IntegerParameter(
        "Raise a cell's amplitude after this many slow epochs (0 = never)", minimum=0, maximum=10_000, default=10
    )

    def target(self) -> np.ndarray:
        return load_pattern(self.pattern)

    def check_relations(self) -> None:
        self.check_spike_parameters()
        target = self.target()
        if not target.any():
            raise ParameterError("pattern", "has no 1 cell: nothing to memorize")
        self.check_calibration()
        self.check_forget_amplitude()

    def check_bench(self, bench) -> None:
        target = self.target()
        matrix = bench.matrix
        rows, cols = getattr(matrix, "rows", None), getattr(matrix, "cols", None)
        if rows is None or cols is None or target.shape[0] > rows or target.shape[1] > cols:
            raise ParameterError(
                "pattern",
                f"is {target.shape[0]} x {target.shape[1]} cells but the bench's "
                f"switch matrix reaches {rows} x {cols} ({bench.path}); allowed: up to "
                f"{rows} x {cols}",
            )
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
            lib.reset_pulse(self.bench, amplitude_V, width_s)

    def accuracy(self, g_map: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean((g_map >= self.read_threshold_S) == target))

    def emit_start_map(self, stage: int, g_map: np.ndarray) -> None:
        self.emit(
            "waveform",
            {
                "name": f"map_stage{stage}_start",
                "y": g_map.ravel(),
                "x": np.arange(g_map.size, dtype=float),
                "y_label": "Conductance (S)",
                "x_label": "Cell (row * columns + column)",
            },
        )

    def calibrate_cells(self, cells) -> dict | None:
        """{cell: spike amplitude (V)} from one ladder per cell; None if asked to stop."""
        amplitudes = {}
        for n, cell in enumerate(cells):

            def play(amplitude_V: float, spikes: int, cell=cell) -> int:
                self.connect(cell)
                return int(np.count_nonzero(self.fire(self.calibration_train(amplitude_V, spikes)).fired))

            result = self.calibrate(play, name=f"calibration_r{cell[0]}c{cell[1]}")
            if result.stopped:
                return None
            if not result.confirmed:
                raise RuntimeError(f"cell ({cell[0]}, {cell[1]}): {self.calibration_failed_text()}")
            amplitudes[cell] = result.operating_V
            self.report_phase(0.0, CALIBRATION_SHARE, (n + 1) / len(cells))
        return amplitudes

    def train(
        self, stage: int, target: np.ndarray, amplitudes: dict, clock, phase: tuple[float, float]
    ) -> float | None:
        """Epochs until the criterion; the epochs to criterion (NaN: not reached) or None if stopped.
        Progress over ``phase`` (start, end): the epochs used of max_epochs, or the target cells
        learned, whichever is further."""
        cells = [tuple(int(x) for x in c) for c in np.argwhere(target)]
        g_map = self.read_map(target.shape)
        self.emit_start_map(stage, g_map)
        base = self.spike_train()
        amp_map = np.full(target.shape, np.nan)
        for cell in cells:
            amp_map[cell] = amplitudes[cell]
        last_prob = {cell: math.nan for cell in cells}
        slow = {cell: 0 for cell in cells}  # epochs in a row in which the cell fired on fewer than half its spikes

        def learned(cell) -> bool:
            firing = (not self.require_firing) or last_prob[cell] >= self.criterion_probability
            return bool(g_map[cell] >= self.read_threshold_S) and firing

        for epoch in range(1, self.max_epochs + 1):
            prob = np.full(target.shape, np.nan)
            for cell in cells:
                if learned(cell):
                    continue
                if self.should_stop():
                    return None
                self.connect(cell)
                response = self.fire(replace(base, amplitude_V=amplitudes[cell]))
                prob[cell] = last_prob[cell] = response.probability
                slow[cell] = slow[cell] + 1 if response.probability < 0.5 else 0
                if self.stall_epochs and slow[cell] >= self.stall_epochs:
                    # the cell's calibration landed on its rare-firing tail, where a firing barely heats the
                    # PCM: a step up, as at the bench
                    raised = min(amplitudes[cell] + 2 * self.calibration_step_V, self.highest_spike_amplitude_V())
                    log.warning(
                        "cell %s fired on fewer than half its spikes for %d epochs at %.3f V: from now on %.3f V",
                        cell,
                        slow[cell],
                        amplitudes[cell],
                        raised,
                    )
                    amplitudes[cell] = amp_map[cell] = raised
                    slow[cell] = 0
                if self.store_traces:
                    lib.emit_trace(self, f"stage{stage}_epoch{epoch}_r{cell[0]}c{cell[1]}", response)
            if self.should_stop():
                return None
            t_map = clock.now_s()
            g_map = self.read_map(target.shape)
            acc = self.accuracy(g_map, target)
            for (r, c), g in np.ndenumerate(g_map):
                self.emit(
                    "results",
                    {
                        "Stage": stage,
                        "Epoch": epoch,
                        "Row": r,
                        "Column": c,
                        "Conductance (S)": g,
                        "Target": int(target[r, c]),
                        "Firing probability": prob[r, c],
                        "Spike amplitude (V)": amp_map[r, c],
                        "Accuracy": acc,
                        "Time (s)": t_map,
                    },
                )
            done = [learned(cell) for cell in cells]
            self.report_phase(*phase, max(epoch / self.max_epochs, sum(done) / len(cells)))
            log.info(
                "stage %d epoch %d: accuracy %.3f, %d of %d target cells learned",
                stage,
                epoch,
                acc,
                sum(done),
                len(cells),
            )
            if acc >= self.accuracy_criterion - 1e-12 and all(done):
                return float(epoch)
        log.warning("stage %d: criterion not reached in %d epochs", stage, self.max_epochs)
        return math.nan

    def estimate(self) -> list[tuple[str, str]]:
        target = self.target()
        out = [
            ("Array", f"{target.shape[0]} x {target.shape[1]} cells, {int(target.sum())} to learn"),
            ("Epochs", f"up to {self.max_epochs} per training, two trainings (each ends at the criterion)"),
            ("Rows", f"{target.size} per epoch (the conductance map)"),
        ]
        if self.calibrating:
            out.append(("First", f"the spike amplitude is calibrated on each of the {int(target.sum())} cells"))
        return out

    def execute(self) -> None:
        target = self.target()
        clock = self.bench.clock
        all_cells = [(r, c) for r in range(target.shape[0]) for c in range(target.shape[1])]
        cells = [tuple(int(x) for x in c) for c in np.argwhere(target)]
        self.reset_cells(all_cells, self.reset_amplitude_V, self.reset_width_s)  # a blank array
        if self.calibrating:
            amplitudes = self.calibrate_cells(cells)
            if amplitudes is None:
                return
            self.reset_cells(cells, self.reset_amplitude_V, self.reset_width_s)  # blank again
        else:
            amplitudes = {cell: self.spike_amplitude_V for cell in cells}
        first = CALIBRATION_SHARE if self.calibrating else 0.0
        e_first = self.train(0, target, amplitudes, clock, (first, first + (1 - first) * 0.6))
        if e_first is None or self.should_stop():
            return
        self.reset_cells(cells, self.forget_amplitude_V, self.forget_width_s)
        e_retrain = self.train(1, target, amplitudes, clock, (first + (1 - first) * 0.6, 1.0))
        if e_retrain is None:
            return
        self.report_progress(1, 1)
        log.info(
            "epochs to criterion: first %s, retraining %s; savings %.3f",
            e_first,
            e_retrain,
            lib.savings_or_nan(e_first, e_retrain),
        )
