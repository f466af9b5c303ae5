"""Benchmarks: reqllm and reqllm_testing against the floor and against vcrpy (run: ``python bench/run.py``)."""
