"""Compute clusters: which workers are alive now, and on which cluster.

django-q2's statistics say which qcluster processes are running but not which compute cluster they serve,
so every worker process also writes a small heartbeat row of its own (see heartbeat.py).
"""
