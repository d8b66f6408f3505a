"""`az ml batch-deployment` for Batch Studio: create|update|show|list|delete."""

from django.core.management.base import CommandError

from api.serializers import deployment_json
from cli import azure_yaml
from cli.base import AzCommand, add_file_arguments, build_environment, document
from cli.management.commands.batch_endpoint import get_endpoint
from endpoints.forms import deployment_delete_refusal
from workspace.compute.live import warn_if_unserved
from workspace.environments import Environment


def get_deployment(endpoint_name, name):
    deployment = get_endpoint(endpoint_name).deployments.filter(name=name).first()
    if deployment is None:
        raise CommandError(f"Endpoint '{endpoint_name}' has no deployment named '{name}'.")
    return deployment


class Command(AzCommand):
    help = "Manage batch deployments (like `az ml batch-deployment`)."
    actions = ("create", "update", "show", "list", "delete")

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument("-e", "--endpoint-name", help="The endpoint (overrides the file's endpoint_name).")
        parser.add_argument("--set-default", action="store_true", help="Make it the endpoint's default deployment.")
        parser.add_argument("--no-build", action="store_true", help="Do not build a new environment now.")

    add_update_arguments = add_create_arguments

    def add_show_arguments(self, parser):
        parser.add_argument("-e", "--endpoint-name", required=True)
        parser.add_argument("-n", "--name", required=True)

    add_delete_arguments = add_show_arguments

    def add_list_arguments(self, parser):
        parser.add_argument("-e", "--endpoint-name", required=True)

    def _save(self, create, set_default=False, no_build=False, **options):
        doc = document(options, name="name", endpoint_name="endpoint_name")
        deployment = azure_yaml.save_deployment(doc, create=create, set_default=set_default)
        if not no_build and deployment.environment:
            build_environment(self, Environment.lookup(deployment.environment))
        self.print_json(deployment_json(deployment))
        warn_if_unserved(deployment.compute, self.stderr.write)

    def handle_create(self, **options):
        """Create a deployment from Azure's deployment YAML."""
        self._save(create=True, **options)

    def handle_update(self, **options):
        """Update a deployment: only the keys the file (or --set) names change."""
        self._save(create=False, **options)

    def handle_show(self, endpoint_name, name, **options):
        """Show a deployment."""
        self.print_json(deployment_json(get_deployment(endpoint_name, name)))

    def handle_list(self, endpoint_name, **options):
        """List the deployments of an endpoint."""
        self.print_json([deployment_json(d) for d in get_endpoint(endpoint_name).deployments.all()])

    def handle_delete(self, endpoint_name, name, **options):
        """Delete a deployment; the default deployment cannot go while others remain."""
        deployment = get_deployment(endpoint_name, name)
        refusal = deployment_delete_refusal(deployment)
        if refusal:
            raise CommandError(refusal)
        deployment.delete()
        self.stdout.write(f"Deleted deployment {endpoint_name}/{name}.")
