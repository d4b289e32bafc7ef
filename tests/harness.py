"""The MESH sandbox and Celery worker processes the tests run against.

They are defined once, in devtools.harness, because `manage.py bench` starts the same processes;
tests import them from here so that test code never reaches into devtools' other modules.
"""

from devtools.harness import MeshSandbox, RedisServer, Worker, free_port, ordering_audit

__all__ = ["MeshSandbox", "RedisServer", "Worker", "free_port", "ordering_audit"]
