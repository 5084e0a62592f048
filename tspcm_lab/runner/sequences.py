"""PyMeasure sequencer files: the parameter points of a series of runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tspcm_lab.runner.values import ParameterInputError


def read_sequence(procedure_class: type, path: str | Path) -> list[dict[str, Any]]:
    """The parameter points of a PyMeasure sequencer file, e.g.::

        - "Amplitude", "[1.6, 1.8]"
        -- "Pulse width", "[1e-7, 1e-6]"

    Names are the parameters' labels (as in PyMeasure's GUI) or their keys; expressions are read by
    PyMeasure's own sequencer with its whitelist of safe functions (``linspace``, ``arange``, ``range``...).
    Returns one {key: value} per point, in order."""
    from pymeasure.experiment.sequencer import SequenceEvaluationError, SequenceHandler

    objects = procedure_class()._parameters
    names_map: dict[str, str] = {}
    for key, parameter in objects.items():
        names_map[key] = key
        names_map[parameter.name] = key
    try:
        with open(path, encoding="utf-8") as handle:
            handler = SequenceHandler(valid_inputs=tuple(names_map), file_obj=handle)
        points = handler.parameters_sequence(names_map=names_map)
    except FileNotFoundError:
        raise ParameterInputError("--sequence", f"no such file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterInputError("--sequence", f"cannot read {path}: {exc}") from None
    except SequenceEvaluationError as exc:
        raise ParameterInputError("--sequence", f"{path}: {exc}") from None
    except KeyError as exc:  # a name the handler accepted but the map lacks (should not happen)
        raise ParameterInputError("--sequence", f"{path}: unknown parameter {exc}") from None
    out = []
    for point in points:
        merged: dict[str, Any] = {}
        for item in point:
            for key, value in item.items():
                merged[key] = value.item() if hasattr(value, "item") else value
        out.append(merged)
    if not out:
        raise ParameterInputError("--sequence", f'{path} has no sequence lines (format: - "Name", "[1, 2]")')
    return out
