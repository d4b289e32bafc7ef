"""The MESH sandbox and Celery worker processes the tests run against.

They are defined once, in devtools.harness, because `manage.py bench` starts the same processes;
tests import them from here. The one other devtools module tests use is devtools.interchanges, the
builder of GP Links interchanges the demo world and benchmarks use too (tests/corpus.py).
"""

from devtools.harness import MeshSandbox, RedisServer, Worker, free_port, ordering_audit

__all__ = ["MeshSandbox", "RedisServer", "Worker", "free_port", "ordering_audit"]
