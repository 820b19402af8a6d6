"""Benchmarks of the template and of what it generates, each next to a baseline measured
in the same run. `python bench/run.py` is the command line; each other module is one
benchmark (a `run(args, work)` returning its figures), registered in run.py's BENCHMARKS."""
