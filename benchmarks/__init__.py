"""Reproducible performance runs (not tests). A package so `run.py`'s modules import as
`benchmarks.*` with the repository root on sys.path (as `tests.*` and `stream` do); every
script here still runs as `python benchmarks/<name>.py`.
"""
