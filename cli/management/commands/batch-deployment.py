"""`manage.py batch-deployment`: Azure's group name for `batch_deployment` (the same command)."""

from cli.management.commands.batch_deployment import Command  # noqa: F401
