"""Fixtures for the SCPI tests: the emulated instruments behind real PyMeasure drivers, in-process.

``disconnected`` instruments (bench=None) test the SCPI dialogue alone: settings, formats, errors,
virtual-time bookkeeping. Tests of physical behaviour use the real virtual bench.
"""

from __future__ import annotations

import logging

import pytest

from sim_backend.scpi import Keithley2450, Keithley2750, Keysight33522B, KeysightDSOX1102G


@pytest.fixture
def smu():
    return Keithley2450(None)


@pytest.fixture
def awg():
    return Keysight33522B(None)


@pytest.fixture
def scope():
    return KeysightDSOX1102G(None)


@pytest.fixture
def matrix():
    return Keithley2750(None)


@pytest.fixture(autouse=True)
def _quiet_pymeasure_errors():
    """PyMeasure logs instrument errors at ERROR level; tests assert on them instead."""
    logger = logging.getLogger("pymeasure")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)
