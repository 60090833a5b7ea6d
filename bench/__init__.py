"""Benchmarks: `make bench` (python -m bench) runs every module here that has a `run()` function.

A bench module's `run() -> list[str]` does its measurements and returns the lines of its report.
Figures quoted in the README come from these runs; tests never assert timings.
"""
