"""The scoring engine: plain Python that reads input files, calls a model and writes output parts.

It imports no Django views or templates: workers run it, the benchmark times it, tests drive it directly.
"""
