"""`az ml environment`: create (a conda file's packages, built now), list, show."""

from django.core.management.base import CommandError

from cli import azure_assets, shapes
from cli.base import AzCommand, add_file_arguments, add_name_argument, build_environment, document
from cli.management.commands.model import add_version_arguments
from workspace.environments import Environment
from workspace.roles import MANAGE_ENVIRONMENTS, VIEW


class Command(AzCommand):
    help = "Create and look up environments (like `az ml environment`)."
    actions = ("create", "list", "show")
    rules = {"create": MANAGE_ENVIRONMENTS, "list": VIEW, "show": VIEW}

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument(
            "--conda-file",
            dest="conda_file",
            help="A conda YAML: its pip section and name=version dependencies are installed (with pip).",
        )
        parser.add_argument(
            "-i",
            "--image",
            help="Accepted for Azure's scripts but not run (no container runtime): --conda-file is required.",
        )
        parser.add_argument("-v", "--version")
        parser.add_argument("--no-build", action="store_true", help="Register only; build later.")

    def add_list_arguments(self, parser):
        parser.add_argument("-n", "--name", help="This environment's versions.")

    def add_show_arguments(self, parser):
        add_name_argument(parser)
        add_version_arguments(parser)

    def handle_create(self, no_build=False, **options):
        """Register (or reuse) an environment version and build it."""
        doc = document(options, name="name", conda_file="conda_file", image="image", version="version")
        env = azure_assets.register_environment(doc)
        if not no_build:
            build_environment(self, env)
        self.emit(shapes.environment(env))

    def handle_list(self, name=None, **options):
        """List the environments."""
        found = Environment.objects.all()
        self.emit([shapes.environment(e) for e in (found.filter(name=name) if name else found)])

    def handle_show(self, name, version=None, label=None, **options):
        """Show one version of an environment (default: the latest)."""
        env = Environment.lookup(f"{name}:{version}" if version else name)
        if env is None:
            raise CommandError(f"There is no environment '{name}'" + (f" version {version}." if version else "."))
        self.emit(shapes.environment(env))
