"""`az ml environment create`: an environment from a conda file's pip section, built now."""

from cli import azure_yaml
from cli.base import AzCommand, add_file_arguments, build_environment, document
from workspace.roles import MANAGE_ENVIRONMENTS


class Command(AzCommand):
    help = "Create environments (like `az ml environment create`)."
    actions = ("create",)
    rules = {"create": MANAGE_ENVIRONMENTS}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument("--conda-file", dest="conda_file", help="A conda YAML whose pip section is installed.")
        parser.add_argument("--no-build", action="store_true", help="Register only; build later.")

    def handle_create(self, no_build=False, **options):
        """Register (or reuse) an environment version and build it."""
        env = azure_yaml.register_environment(document(options, name="name", conda_file="conda_file"))
        if not no_build:
            build_environment(self, env)
        self.print_json(
            {
                "name": env.name,
                "version": env.version,
                "id": f"azureml:{env.label}",
                "state": env.state,
                "requirements": env.requirements.splitlines(),
            }
        )
