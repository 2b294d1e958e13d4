"""The job queue: the Huey factory and its tasks (tasks.py) and the worker processes (worker.py).

It imports services; services never import it (they take injected enqueue/submit callables).
"""
