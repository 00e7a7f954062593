"""Benchmarks for evident, run with `make bench` (python -m bench.run).

Each area (retrieval, and later answers, API, LLM) registers a runner in bench.run; it
writes bench/results/<area>.json and regenerates its own section of docs/benchmarks.md.
The staged public data sets live outside the repository (../shared/data, or
$EVIDENT_SHARED_DATA); nothing from them is copied in here.
"""
