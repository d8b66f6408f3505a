"""`az ml model` for the Studio's MLflow registry: create|list|show."""

from django.core.management.base import CommandError

from cli import azure_assets, shapes
from cli.base import AzCommand, add_file_arguments, add_name_argument, document
from workspace import registry
from workspace.roles import REGISTER_ASSETS, VIEW


def add_version_arguments(parser):
    parser.add_argument("-v", "--version", help="The version (default: the latest).")
    parser.add_argument("-l", "--label", help="latest: the newest version; or an MLflow alias (champion).")


class Command(AzCommand):
    help = "Register and look up models (like `az ml model`)."
    actions = ("create", "list", "show")
    rules = {"create": REGISTER_ASSETS, "list": VIEW, "show": VIEW}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument("-p", "--path", help="An MLflow model folder or a zip of one (overrides the file's path).")
        parser.add_argument("-t", "--type", choices=azure_assets.MODEL_TYPES, help="Default: mlflow_model.")
        parser.add_argument("-v", "--version", help="The version it must get (the registry numbers versions).")
        parser.add_argument("-d", "--description")

    def add_list_arguments(self, parser):
        parser.add_argument("-n", "--name", help="This model's versions, newest first.")

    def add_show_arguments(self, parser):
        add_name_argument(parser)
        add_version_arguments(parser)

    def handle_create(self, **options):
        """Register a model folder (or zip) as the model's next version."""
        doc = document(options, name="name", path="path", type="type", version="version", description="description")
        self.emit(shapes.model(azure_assets.register_model(doc)))

    def handle_list(self, name=None, **options):
        """List the models (each by its latest version), or one model's versions."""
        try:
            if name:
                self.emit([shapes.model(v) for v in registry.list_versions(name)])
            else:
                self.emit([shapes.model_summary(row) for row in registry.list_models()])
        except registry.RegistryError as exc:
            raise CommandError(str(exc)) from exc

    def handle_show(self, name, version=None, label=None, **options):
        """Show one version of a model."""
        pointer = f"@{label}" if label and not version else f":{version or 'latest'}"
        self.emit(shapes.model(registry.find(f"azureml:{name}{pointer}")))
