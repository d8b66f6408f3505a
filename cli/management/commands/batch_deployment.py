"""`az ml batch-deployment` for Batch Studio: create|update|show|list|delete|list-jobs."""

from django.core.management.base import CommandError

from cli import azure_yaml, shapes
from cli.base import (
    AzCommand,
    add_file_arguments,
    add_name_argument,
    add_no_wait_argument,
    add_web_argument,
    add_yes_argument,
    build_environment,
    document,
)
from cli.management.commands.batch_endpoint import get_endpoint
from endpoints.forms import deployment_delete_refusal
from jobs.models import BatchJob
from workspace.compute.live import warn_if_unserved
from workspace.environments import Environment
from workspace.roles import MANAGE_ENDPOINTS, VIEW


def get_deployment(endpoint_name, name):
    deployment = get_endpoint(endpoint_name).deployments.filter(name=name).first()
    if deployment is None:
        raise CommandError(f"Endpoint '{endpoint_name}' has no deployment named '{name}'.")
    return deployment


def _endpoint_name(parser, required=True):
    parser.add_argument("-e", "--endpoint-name", required=required, help="The endpoint.")


class Command(AzCommand):
    help = "Manage batch deployments (like `az ml batch-deployment`)."
    actions = ("create", "update", "show", "list", "delete", "list_jobs")
    rules = {
        "create": MANAGE_ENDPOINTS,
        "update": MANAGE_ENDPOINTS,
        "show": VIEW,
        "list": VIEW,
        "delete": MANAGE_ENDPOINTS,
        "list_jobs": VIEW,
    }

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        parser.add_argument("-e", "--endpoint-name", help="The endpoint (overrides the file's endpoint_name).")
        parser.add_argument("--set-default", action="store_true", help="Make it the endpoint's default deployment.")
        parser.add_argument("--no-build", action="store_true", help="Do not build a new environment now.")
        add_no_wait_argument(parser)

    add_update_arguments = add_create_arguments

    def add_show_arguments(self, parser):
        _endpoint_name(parser)
        add_name_argument(parser)
        add_web_argument(parser)

    def add_delete_arguments(self, parser):
        _endpoint_name(parser)
        add_name_argument(parser)
        add_yes_argument(parser)
        add_no_wait_argument(parser)

    def add_list_arguments(self, parser):
        _endpoint_name(parser)

    def add_list_jobs_arguments(self, parser):
        _endpoint_name(parser)
        add_name_argument(parser, help="The deployment.")

    def _save(self, create, set_default=False, no_build=False, **options):
        doc = document(options, name="name", endpoint_name="endpoint_name")
        deployment = azure_yaml.save_deployment(doc, create=create, set_default=set_default)
        if not no_build and deployment.environment:
            build_environment(self, Environment.lookup(deployment.environment))
        self.emit(shapes.deployment(deployment))
        warn_if_unserved(deployment.compute, self.stderr.write)

    def handle_create(self, **options):
        """Create a deployment from Azure's deployment YAML, or update the one of that name."""
        self._save(create=True, **options)

    def handle_update(self, **options):
        """Update a deployment: only the keys the file (or --set) names change."""
        self._save(create=False, **options)

    def handle_show(self, endpoint_name, name, web=False, **options):
        """Show a deployment."""
        deployment = get_deployment(endpoint_name, name)
        if web:
            self.web(deployment.endpoint.get_absolute_url())
        self.emit(shapes.deployment(deployment))

    def handle_list(self, endpoint_name, **options):
        """List the deployments of an endpoint."""
        self.emit([shapes.deployment(d) for d in get_endpoint(endpoint_name).deployments.all()])

    def handle_list_jobs(self, endpoint_name, name, **options):
        """List the jobs a deployment ran, newest first."""
        deployment = get_deployment(endpoint_name, name)
        jobs = BatchJob.objects.filter(endpoint_name=deployment.endpoint.name, deployment_name=deployment.name)
        self.emit([shapes.job(j, detail=False) for j in jobs.order_by("-created")])

    def handle_delete(self, endpoint_name, name, **options):
        """Delete a deployment; the default deployment cannot go while others remain."""
        deployment = get_deployment(endpoint_name, name)
        refusal = deployment_delete_refusal(deployment)
        if refusal:
            raise CommandError(refusal)
        deployment.delete()
        self.say(f"Deleted deployment {endpoint_name}/{name}.")
