"""Fixtures of the store tests: run a tiny real PyMeasure procedure headless into a run file."""

import pytest

from tests.helpers.runs import run_headless


@pytest.fixture
def headless():
    return run_headless
