"""`az ml batch-endpoint` for Batch Studio: create|update|show|list|delete|invoke|list-jobs."""

import uuid
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from api.invoke import INT_SETTINGS, parse_output, parse_settings
from cli import azure_yaml, shapes, yaml_document
from cli.base import (
    AzCommand,
    add_file_arguments,
    add_name_argument,
    add_no_wait_argument,
    add_web_argument,
    add_yes_argument,
    document,
)
from endpoints.models import OUTPUT_OPTIONS, OVERRIDABLE, BatchEndpoint, split_columns
from engine import formats
from jobs.submit import submit_job
from workspace.compute.live import warn_if_unserved
from workspace.models import Datastore
from workspace.roles import MANAGE_ENDPOINTS, RUN_JOBS, VIEW

UPLOAD_FOLDER = "uploads"
INPUT_TYPES = ("uri_folder", "uri_file")


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


def job_settings(sets: list[str]) -> dict:
    """`invoke --set settings.mini_batch_size=5` (or `mini_batch_size=5`): per-job settings, checked as the REST
    body's `properties.settings` is."""
    data = yaml_document.loads("", source="command line", sets=sets).data
    block = {**data.pop("settings", {}), **data}
    return parse_settings(block)


class Command(AzCommand):
    help = "Manage batch endpoints (like `az ml batch-endpoint`)."
    actions = ("create", "update", "show", "list", "delete", "invoke", "list_jobs")
    rules = {
        "create": MANAGE_ENDPOINTS,
        "update": MANAGE_ENDPOINTS,
        "show": VIEW,
        "list": VIEW,
        "delete": MANAGE_ENDPOINTS,
        "invoke": RUN_JOBS,
        "list_jobs": VIEW,
    }

    def add_create_arguments(self, parser):
        add_file_arguments(parser)
        add_no_wait_argument(parser)

    add_update_arguments = add_create_arguments

    def add_show_arguments(self, parser):
        add_name_argument(parser)
        add_web_argument(parser)

    def add_delete_arguments(self, parser):
        add_name_argument(parser)
        add_yes_argument(parser)
        add_no_wait_argument(parser)

    def add_list_jobs_arguments(self, parser):
        add_name_argument(parser)

    def add_invoke_arguments(self, parser):
        add_name_argument(parser)
        parser.add_argument(
            "-i",
            "--input",
            required=True,
            help="A local file or folder (uploaded first), azureml:<data>@latest, "
            "azureml://datastores/<name>/paths/<path>, or a public URL.",
        )
        parser.add_argument("--input-type", choices=INPUT_TYPES, help="What --input is: a folder or one file.")
        parser.add_argument("-d", "--deployment-name", help="A deployment other than the default.")
        parser.add_argument(
            "--output-path", help="azureml://datastores/<name>/paths/<folder>, or a folder in the default datastore."
        )
        parser.add_argument("--request-id", default="", help="A repeatability id: the same id returns the same job.")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A job setting, e.g. settings.mini_batch_size=5 or retry_settings.max_retries=1 (repeatable).",
        )
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
        """Create an endpoint from Azure's endpoint YAML, or update the one of that name."""
        endpoint = azure_yaml.save_endpoint(document(options, name="name"), create=True, user=self.creator)
        self.emit(shapes.endpoint(endpoint))

    def handle_update(self, **options):
        """Update an endpoint: description, defaults.deployment_name."""
        endpoint = azure_yaml.save_endpoint(document(options, name="name"), create=False)
        self.emit(shapes.endpoint(endpoint))

    def handle_show(self, name, web=False, **options):
        """Show an endpoint."""
        endpoint = get_endpoint(name)
        if web:
            self.web(endpoint.get_absolute_url())
        self.emit(shapes.endpoint(endpoint))

    def handle_list(self, **options):
        """List the endpoints."""
        self.emit([shapes.endpoint(e) for e in BatchEndpoint.objects.select_related("default_deployment")])

    def handle_delete(self, name, **options):
        """Delete an endpoint and its deployments (its jobs are kept)."""
        endpoint = get_endpoint(name)
        with transaction.atomic():
            endpoint.delete()
        self.say(f"Deleted batch endpoint {name}.")

    def handle_list_jobs(self, name, **options):
        """List the jobs of an endpoint, newest first."""
        self.emit([shapes.job(j, detail=False) for j in get_endpoint(name).jobs.all()])

    def handle_invoke(
        self, name, input, input_type=None, deployment_name=None, output_path=None, request_id="", **options
    ):
        """Start a batch scoring job; prints the job (`--query name -o tsv`: its name)."""
        endpoint = get_endpoint(name)
        local = Path(input)
        is_local = "://" not in input and not input.startswith("azureml:") and local.exists()
        if is_local and input_type == "uri_file" and not local.is_file():
            raise CommandError(f"--input-type uri_file needs a file; {input} is a folder.")
        if is_local and input_type == "uri_folder" and not local.is_dir():
            raise CommandError(f"--input-type uri_folder needs a folder; {input} is a file.")
        input_uri = upload_input(local) if is_local else input
        output = {}
        if output_path:
            if "://" in output_path:
                output = parse_output({"score": {"JobOutputType": "UriFolder", "Uri": output_path}})
            else:
                output = {"output_path": output_path}
        overrides = job_settings(options.get("set") or [])
        overrides.update({key: options[key] for key in OVERRIDABLE + OUTPUT_OPTIONS if options.get(key) is not None})
        job = submit_job(
            endpoint,
            input_uri=input_uri,
            deployment_name=deployment_name,
            overrides=overrides,
            request_id=request_id,
            user=self.creator,
            **output,
        )
        self.emit(shapes.job(job, detail=False))
        warn_if_unserved(job.compute, self.stderr.write)
