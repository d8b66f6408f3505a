"""`az ml batch-endpoint` for Batch Studio: create|update|show|list|delete|invoke|list_jobs."""

import uuid
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from api.invoke import INT_SETTINGS, parse_output
from api.serializers import endpoint_json, job_json
from cli import azure_yaml
from cli.base import AzCommand, add_file_arguments, document
from endpoints.models import OUTPUT_OPTIONS, OVERRIDABLE, BatchEndpoint, split_columns
from engine import formats
from jobs.submit import submit_job
from workspace.compute.live import warn_if_unserved
from workspace.models import Datastore

UPLOAD_FOLDER = "uploads"


def get_endpoint(name) -> BatchEndpoint:
    endpoint = BatchEndpoint.objects.filter(name=name).first()
    if endpoint is None:
        raise CommandError(f"There is no endpoint named '{name}'.")
    return endpoint


def upload_input(path: Path) -> str:
    """A local file or folder is copied to the default datastore first, as `az ml` uploads local inputs."""
    store = Datastore.get_default()
    folder = f"{UPLOAD_FOLDER}/{uuid.uuid4().hex[:12]}"
    files = (
        [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    )
    client = store.client()
    for file in files:
        client.write(f"{folder}/{file.name}", file.read_bytes())
    return store.uri(f"{folder}/{path.name}" if path.is_file() else folder)


class Command(AzCommand):
    help = "Manage batch endpoints (like `az ml batch-endpoint`)."
    actions = ("create", "update", "show", "list", "delete", "invoke", "list_jobs")

    def add_create_arguments(self, parser):
        add_file_arguments(parser)

    add_update_arguments = add_create_arguments

    def add_show_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)

    add_delete_arguments = add_list_jobs_arguments = add_show_arguments

    def add_invoke_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)
        parser.add_argument(
            "--input",
            required=True,
            help="A local file or folder (uploaded first), or azureml://datastores/<name>/paths/<path>.",
        )
        parser.add_argument("-d", "--deployment-name", help="A deployment other than the default.")
        parser.add_argument(
            "--output-path", help="azureml://datastores/<name>/paths/<folder>, or a folder in the default datastore."
        )
        parser.add_argument("--request-id", default="", help="A repeatability id: the same id returns the same job.")
        for key in OVERRIDABLE:
            parser.add_argument(f"--{key.replace('_', '-')}", dest=key, type=int if key in INT_SETTINGS else str)
        # Beyond Azure: the output options (docs/ENGINE.md, Output options).
        parser.add_argument("--output-format", dest="output_format", choices=sorted(formats.EXTENSIONS))
        parser.add_argument(
            "--passthrough-columns",
            dest="passthrough_columns",
            type=split_columns,
            help="Input columns copied next to the predictions, comma-separated: id,region",
        )
        parser.add_argument(
            "--write-manifest",
            dest="write_manifest",
            action="store_const",
            const=True,
            help="Write manifest.json and _SUCCESS after the output.",
        )

    def handle_create(self, **options):
        """Create an endpoint from Azure's endpoint YAML."""
        endpoint = azure_yaml.save_endpoint(document(options, name="name"), create=True)
        self.print_json(endpoint_json(endpoint))

    def handle_update(self, **options):
        """Update an endpoint: description, defaults.deployment_name."""
        endpoint = azure_yaml.save_endpoint(document(options, name="name"), create=False)
        self.print_json(endpoint_json(endpoint))

    def handle_show(self, name, **options):
        """Show an endpoint."""
        self.print_json(endpoint_json(get_endpoint(name)))

    def handle_list(self, **options):
        """List the endpoints."""
        self.print_json([endpoint_json(e) for e in BatchEndpoint.objects.select_related("default_deployment")])

    def handle_delete(self, name, **options):
        """Delete an endpoint and its deployments (its jobs are kept)."""
        endpoint = get_endpoint(name)
        with transaction.atomic():
            endpoint.delete()
        self.stdout.write(f"Deleted batch endpoint {name}.")

    def handle_list_jobs(self, name, **options):
        """List the jobs of an endpoint, newest first."""
        self.print_json([job_json(j, detail=False) for j in get_endpoint(name).jobs.all()])

    def handle_invoke(self, name, input, deployment_name=None, output_path=None, request_id="", **options):
        """Start a batch scoring job; prints its name."""
        endpoint = get_endpoint(name)
        local = Path(input)
        input_uri = upload_input(local) if "://" not in input and local.exists() else input
        output = {}
        if output_path:
            if "://" in output_path:
                output = parse_output({"score": {"JobOutputType": "UriFolder", "Uri": output_path}})
            else:
                output = {"output_path": output_path}
        overrides = {key: options[key] for key in OVERRIDABLE + OUTPUT_OPTIONS if options.get(key) is not None}
        job = submit_job(
            endpoint,
            input_uri=input_uri,
            deployment_name=deployment_name,
            overrides=overrides,
            request_id=request_id,
            **output,
        )
        self.stdout.write(job.name)
        warn_if_unserved(job.compute, self.stderr.write)
