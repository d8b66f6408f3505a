"""`az ml model create` for the Studio's MLflow registry."""

from cli import azure_yaml
from cli.base import AzCommand, add_file_arguments, document
from workspace.roles import REGISTER_ASSETS


class Command(AzCommand):
    help = "Register models (like `az ml model create`)."
    actions = ("create",)
    rules = {"create": REGISTER_ASSETS}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument("-p", "--path", help="An MLflow model folder or a zip of one (overrides the file's path).")

    def handle_create(self, **options):
        """Register a model folder (or zip) as the model's next version."""
        doc = document(options, name="name", path="path")
        model = azure_yaml.register_model(doc)
        self.print_json(
            {
                "name": model.name,
                "version": model.version,
                "id": f"azureml:{model.label}",
                "flavor": model.flavor,
                "description": model.description,
            }
        )
