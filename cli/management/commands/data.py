"""`az ml data` for the Studio's datasets (data assets): create|list|show."""

from cli import azure_assets, shapes
from cli.base import AzCommand, add_file_arguments, add_name_argument, document
from cli.management.commands.model import add_version_arguments
from workspace.models import Dataset
from workspace.roles import REGISTER_ASSETS, VIEW


class Command(AzCommand):
    help = "Register and look up datasets (like `az ml data`)."
    actions = ("create", "list", "show")
    rules = {"create": REGISTER_ASSETS, "list": VIEW, "show": VIEW}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument(
            "-p", "--path", help="A local file or folder (uploaded), or azureml://datastores/<name>/paths/<path>."
        )
        parser.add_argument("-t", "--type", choices=azure_assets.DATA_TYPES)
        parser.add_argument(
            "-v",
            "--version",
            help="Its version, any string Azure allows (3, v1.2, 2024-01-15) not taken yet; default: the next number.",
        )
        parser.add_argument("-d", "--description")

    def add_list_arguments(self, parser):
        parser.add_argument("-n", "--name", help="This dataset's versions, newest first.")

    def add_show_arguments(self, parser):
        add_name_argument(parser)
        add_version_arguments(parser)

    def handle_create(self, **options):
        """Register a new version of a dataset."""
        doc = document(options, name="name", path="path", type="type", version="version", description="description")
        self.emit(shapes.data(azure_assets.register_dataset(doc, user=self.creator)))

    def handle_list(self, name=None, **options):
        """List the datasets (each by its latest version), or one dataset's versions."""
        found = Dataset.objects.select_related("datastore")  # newest first in each name
        if name:
            self.emit([shapes.data(d) for d in found.filter(name=name)])
        else:
            latest = {}
            for dataset in found:
                latest.setdefault(dataset.name, dataset)
            self.emit([shapes.data(d) for d in latest.values()])

    def handle_show(self, name, version=None, label=None, **options):
        """Show one version of a dataset (default: the latest)."""
        self.emit(shapes.data(Dataset.lookup(name, version or "latest")))
