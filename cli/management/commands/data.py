"""`az ml data create` for the Studio's datasets (data assets)."""

from api.serializers import dataset_json
from cli import azure_yaml
from cli.base import AzCommand, add_file_arguments, document
from workspace.roles import REGISTER_ASSETS


class Command(AzCommand):
    help = "Register datasets (like `az ml data create`)."
    actions = ("create",)
    rules = {"create": REGISTER_ASSETS}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument(
            "-p", "--path", help="A local file or folder (uploaded), or azureml://datastores/<name>/paths/<path>."
        )
        parser.add_argument("-t", "--type", choices=azure_yaml.DATA_TYPES)

    def handle_create(self, **options):
        """Register a new version of a dataset."""
        dataset = azure_yaml.register_dataset(
            document(options, name="name", path="path", type="type"), user=self.creator
        )
        self.print_json(dataset_json(dataset))
