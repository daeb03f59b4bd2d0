"""Fuzzing harnesses (atheris) and their regression inputs; see fuzz/run.py and docs/conformance.md."""
