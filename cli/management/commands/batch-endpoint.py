"""`manage.py batch-endpoint`: Azure's group name for `batch_endpoint` (the same command)."""

from cli.management.commands.batch_endpoint import Command  # noqa: F401
