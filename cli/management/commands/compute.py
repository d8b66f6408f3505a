"""`az ml compute` for Batch Studio's compute clusters: create|update|list|show|delete (the workers that serve
a cluster are started with Q_CLUSTER_NAME=<name>, docs/DEPLOY.md)."""

from django.core.management.base import CommandError

from cli import azure_workspace, shapes
from cli.base import AzCommand, add_file_arguments, add_name_argument, add_no_wait_argument, add_yes_argument, document
from workspace.compute.models import ComputeCluster
from workspace.roles import MANAGE_COMPUTE, VIEW


def get_compute(name) -> ComputeCluster:
    cluster = ComputeCluster.objects.filter(name=name).first()
    if cluster is None:
        raise CommandError(f"There is no compute named '{name}'.")
    return cluster


class Command(AzCommand):
    help = "Manage compute clusters (like `az ml compute`)."
    actions = ("create", "update", "list", "show", "delete")
    rules = {"create": MANAGE_COMPUTE, "update": MANAGE_COMPUTE, "list": VIEW, "show": VIEW, "delete": MANAGE_COMPUTE}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument("-t", "--type", help="amlcompute (the only kind here).")
        parser.add_argument("--min-instances", type=int, help="The fewest worker machines (default 0).")
        parser.add_argument("--max-instances", type=int, help="The most worker machines (default 1).")
        parser.add_argument("--size", help="Accepted for Azure's scripts; a worker machine has the size it has.")
        parser.add_argument("--idle-time-before-scale-down", type=int, help="Accepted for Azure's scripts.")
        parser.add_argument("--description")
        add_no_wait_argument(parser)

    add_update_arguments = add_create_arguments

    def add_show_arguments(self, parser):
        add_name_argument(parser)

    def add_delete_arguments(self, parser):
        add_name_argument(parser)
        add_yes_argument(parser)
        add_no_wait_argument(parser)

    def _save(self, **options):
        doc = document(
            options,
            name="name",
            type="type",
            min_instances="min_instances",
            max_instances="max_instances",
            size="size",
            idle_time_before_scale_down="idle_time_before_scale_down",
            description="description",
        )
        self.emit(shapes.compute(azure_workspace.save_compute(doc, user=self.creator)))

    def handle_create(self, **options):
        """Create a compute cluster, or update the one of that name."""
        self._save(**options)

    def handle_update(self, name=None, **options):
        """Update a compute cluster: min/max instances, description."""
        get_compute(name or document(options).get("name"))
        self._save(name=name, **options)

    def handle_list(self, **options):
        """List the compute clusters."""
        self.emit([shapes.compute(c) for c in ComputeCluster.objects.all()])

    def handle_show(self, name, **options):
        """Show a compute cluster."""
        self.emit(shapes.compute(get_compute(name)))

    def handle_delete(self, name, **options):
        """Delete a compute cluster's registration (deployments naming it keep their name)."""
        get_compute(name).delete()
        self.say(f"Deleted compute {name}.")
