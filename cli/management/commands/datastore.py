"""`az ml datastore` for Batch Studio's datastores: create|list|show."""

from django.core.management.base import CommandError

from cli import azure_workspace, shapes
from cli.base import AzCommand, add_file_arguments, add_name_argument, document
from workspace.models import Datastore
from workspace.roles import MANAGE_DATASTORES, VIEW


class Command(AzCommand):
    help = "Manage datastores (like `az ml datastore`)."
    actions = ("create", "list", "show")
    rules = {"create": MANAGE_DATASTORES, "list": VIEW, "show": VIEW}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)

    def add_show_arguments(self, parser):
        add_name_argument(parser)

    def handle_create(self, **options):
        """Register a datastore from Azure's datastore YAML (its connection tested first), or update it."""
        self.emit(shapes.datastore(azure_workspace.save_datastore(document(options, name="name"))))

    def handle_list(self, **options):
        """List the datastores."""
        self.emit([shapes.datastore(s) for s in Datastore.objects.order_by("name")])

    def handle_show(self, name, **options):
        """Show a datastore (never its secret)."""
        store = Datastore.objects.filter(name=name).first()
        if store is None:
            raise CommandError(f"There is no datastore named '{name}'.")
        self.emit(shapes.datastore(store))
