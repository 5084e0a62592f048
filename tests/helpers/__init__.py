"""Helpers shared by the test folders, imported by their full name (``from tests.helpers.runs import
wait_for_rows``): small test procedures, the probe bench, run and CLI helpers. Fixtures stay in the
conftest.py files; nothing here is collected as a test."""
