"""Helpers shared by the tests of every area (no fixtures: those live in conftest.py)."""
