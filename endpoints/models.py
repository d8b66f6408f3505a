"""Batch endpoints and their deployments, with Azure Machine Learning's defaults."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.functional import cached_property

from endpoints import code
from engine import formats
from engine.formats import RESERVED_COLUMNS
from workspace import registry
from workspace.compute.models import ComputeCluster, Worker
from workspace.environments import Environment, validate_environment  # noqa: F401  (migrations name it here)

ENDPOINT_NAME_VALIDATOR = RegexValidator(
    r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
    "Start with a letter, use letters, digits and '-', and end with a letter or digit.",
    code="invalid_endpoint_name",
)
DEPLOYMENT_NAME_VALIDATOR = ENDPOINT_NAME_VALIDATOR
# A compute cluster is the name a worker machine's qcluster serves (Q_CLUSTER_NAME) and its queue's name.
COMPUTE_NAME_VALIDATOR = RegexValidator(
    r"^[a-zA-Z][-_a-zA-Z0-9]*[a-zA-Z0-9]$",
    "A compute cluster's name is 2 to 64 characters: start with a letter, use letters, digits, '-' and '_', and end "
    "with a letter or digit (the Q_CLUSTER_NAME its workers run with).",
    code="invalid_compute_name",
)


MAX_THRESHOLD = 2_000_000_000  # files or rows: more than any job holds; -1 says "never fail"


def validate_endpoint_length(value):
    if not 3 <= len(value) <= 32:
        raise ValidationError("The name must be 3 to 32 characters long.", code="endpoint_name_length")


def validate_output_file_name(name: str):
    """The output file name is a name in the output folder: refused (as the user typed it) with folders or '..'."""
    if not isinstance(name, str) or "/" in name or "\\" in name or name in (".", ".."):
        raise ValidationError(
            "Output file name '%(name)s' is not valid: a file name, without folders or '..'.",
            code="invalid_output_file_name",
            params={"name": name},
        )


def validate_output_extension(name: str, fmt: str):
    """An output file ends in its format's extension: never a page (x.html) or a script a browser or a server
    would run."""
    ext = formats.EXTENSIONS[fmt]
    if name and not name.lower().endswith(ext):
        raise ValidationError(
            "Output file name '%(name)s' must end in %(ext)s, the extension of the %(format)s output format.",
            code="invalid_output_file_name",
            params={"name": name, "ext": ext, "format": fmt},
        )


def validate_passthrough_columns(value):
    """A list of distinct input column names, none named as a column scoring adds (row, file_name)."""
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise ValidationError("Passthrough columns must be a list of column names.", code="invalid_passthrough")
    if len(set(value)) != len(value):
        raise ValidationError("A passthrough column is named twice.", code="invalid_passthrough")
    reserved = [c for c in value if c in RESERVED_COLUMNS]
    if reserved:
        raise ValidationError(
            "Passthrough column '%(column)s' has the name of a column scoring adds (%(reserved)s); "
            "rename it in the input.",
            code="reserved_passthrough",
            params={"column": reserved[0], "reserved": ", ".join(RESERVED_COLUMNS)},
        )


SPLIT_ROWS_MIN, SPLIT_ROWS_MAX = 1000, 100_000_000


def validate_split_rows(value):
    """split_rows (beyond Azure): 0, off (Azure's file-based mini-batches), or the rows of a range a large file is
    split into, from SPLIT_ROWS_MIN (a smaller range costs more in per-mini-batch overhead than it gains)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (value == 0 or SPLIT_ROWS_MIN <= value <= SPLIT_ROWS_MAX)
    ):
        raise ValidationError(
            "split_rows is 0 (off: a file is never split) or a whole number of rows from %(min)s to %(max)s, "
            "not %(value)r.",
            code="invalid_split_rows",
            params={"value": value, "min": f"{SPLIT_ROWS_MIN:,}", "max": f"{SPLIT_ROWS_MAX:,}"},
        )


NO_DEPLOYMENT_MESSAGE = (
    "No valid deployments to route to. Please check that the endpoint has at least one deployment with "
    "positive weight values or use a deployment specific header to route."
)


class BatchEndpoint(models.Model):
    name = models.CharField(max_length=32, unique=True, validators=[validate_endpoint_length, ENDPOINT_NAME_VALIDATOR])
    description = models.TextField(blank=True)
    auth_mode = models.CharField(max_length=20, default="token")
    default_deployment = models.ForeignKey(
        "BatchDeployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provisioning_state = models.CharField(max_length=20, default="Succeeded")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("endpoints:detail", args=[self.name])

    @property
    def scoring_uri_path(self):
        return f"/api/v1/endpoints/{self.name}/jobs"

    def set_default(self, deployment):
        if deployment.endpoint_id != self.pk:
            raise ValidationError(
                "Deployment '%(name)s' belongs to another endpoint.",
                code="foreign_deployment",
                params={"name": deployment.name},
            )
        self.default_deployment = deployment
        self.save(update_fields=["default_deployment", "updated"])

    def resolve_deployment(self, name: str | None = None):
        """The deployment a job goes to: the named one, else the default (Azure's routing rule)."""
        if name:
            deployment = self.deployments.filter(name=name).first()
            if deployment is None:
                raise ValidationError(
                    "Endpoint '%(endpoint)s' has no deployment named '%(name)s'.",
                    code="unknown_deployment",
                    params={"endpoint": self.name, "name": name},
                )
            return deployment
        if self.default_deployment is None:
            raise ValidationError(NO_DEPLOYMENT_MESSAGE, code="no_default_deployment")
        return self.default_deployment


class BatchDeployment(models.Model):
    APPEND_ROW = "append_row"
    SUMMARY_ONLY = "summary_only"
    OUTPUT_ACTIONS = [(APPEND_ROW, "append_row"), (SUMMARY_ONLY, "summary_only")]
    LOGGING_LEVELS = [("warning", "warning"), ("info", "info"), ("debug", "debug")]

    endpoint = models.ForeignKey(BatchEndpoint, on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=32, validators=[validate_endpoint_length, DEPLOYMENT_NAME_VALIDATOR])
    description = models.TextField(blank=True)
    model_name = models.CharField(max_length=255)
    # The version jobs score with; pinned to an alias (models:/name@champion), the version it pointed at when the
    # deployment was saved (its environment is generated from it), each job resolving the alias again as it starts.
    model_version = models.CharField(max_length=20)
    model_alias = models.CharField(max_length=255, blank=True)
    # Azure's code_configuration: a snapshot of the code folder (see endpoints.code) and the script in it.
    # Both empty for MLflow models: the scoring is generated.
    code_path = models.CharField(max_length=500, blank=True)
    scoring_script = models.CharField(max_length=255, blank=True)
    # An environment's "name:version" (jobs.Environment); empty means the workers' own environment ("studio").
    environment = models.CharField(max_length=255, blank=True, validators=[validate_environment])
    compute = models.CharField(max_length=64, default=settings.DEFAULT_COMPUTE, validators=[COMPUTE_NAME_VALIDATOR])
    instance_count = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(64)])
    max_concurrency_per_instance = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    mini_batch_size = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(100000)]
    )
    output_action = models.CharField(max_length=20, choices=OUTPUT_ACTIONS, default=APPEND_ROW)
    output_file_name = models.CharField(max_length=255, default="predictions.csv", blank=True)
    max_retries = models.PositiveIntegerField(default=3, validators=[MaxValueValidator(100)])
    timeout = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(86400)])
    error_threshold = models.IntegerField(
        default=-1, validators=[MinValueValidator(-1), MaxValueValidator(MAX_THRESHOLD)]
    )
    # What error_threshold counts (see jobs/bad_records.py): failed files is Azure's rule.
    FILES, ROWS, PERCENT = "files", "rows", "percent"
    THRESHOLD_UNITS = [(FILES, "Failed files (Azure)"), (ROWS, "Failed rows"), (PERCENT, "Percent of rows")]
    error_threshold_unit = models.CharField(max_length=10, choices=THRESHOLD_UNITS, default=FILES)
    logging_level = models.CharField(max_length=10, choices=LOGGING_LEVELS, default="info")
    environment_variables = models.JSONField(default=dict, blank=True)
    # Beyond Azure: the output's format, input columns copied next to the predictions, and a manifest.
    output_format = models.CharField(max_length=10, choices=formats.CHOICES, default=formats.CSV)
    passthrough_columns = models.JSONField(default=list, blank=True, validators=[validate_passthrough_columns])
    write_manifest = models.BooleanField(default=False)
    # predictions.csv's header row: ours has one (pandas reads it as is); Azure's append_row file has none.
    output_header = models.BooleanField(default=True)
    # Beyond Azure: a large file's rows shared by several mini-batches (docs/ENGINE.md, Splitting large files); 0: off.
    split_rows = models.PositiveIntegerField(default=0, blank=True, validators=[validate_split_rows])
    # Beyond Azure: every worker of its cluster keeps a scoring host of it loaded, from the worker's start and from
    # the deployment's save, so no job waits for a model load (docs/ENGINE.md, Warm starts).
    warm_start = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "name"], name="unique_deployment_per_endpoint")]

    def __str__(self):
        return f"{self.endpoint.name}/{self.name}"

    def clean(self):
        try:
            validate_output_file_name(self.output_file_name)
        except ValidationError as exc:
            raise ValidationError({"output_file_name": exc}) from exc
        if self.output_action == self.SUMMARY_ONLY and self.output_file_name not in ("", "predictions.csv"):
            raise ValidationError(
                {
                    "output_file_name": ValidationError(
                        "An output file name cannot be used with summary_only.", code="output_file_with_summary_only"
                    )
                }
            )
        if self.output_action == self.APPEND_ROW and not self.output_file_name:
            raise ValidationError(
                {
                    "output_file_name": ValidationError(
                        "append_row needs an output file name.", code="output_file_required"
                    )
                }
            )
        if self.passthrough_columns and self.scoring_script:
            raise ValidationError({"passthrough_columns": PASSTHROUGH_NEEDS_MLFLOW})
        if self.split_rows and self.scoring_script:
            raise ValidationError({"split_rows": SPLIT_NEEDS_MLFLOW})
        try:
            validate_percent_threshold(self.error_threshold, self.error_threshold_unit)
        except ValidationError as exc:
            raise ValidationError({"error_threshold": exc}) from exc
        if self.output_action == self.APPEND_ROW and self.output_format in formats.EXTENSIONS:
            self.output_file_name = formats.output_name(self.output_file_name, self.output_format)
            try:
                validate_output_extension(self.output_file_name, self.output_format)
            except ValidationError as exc:
                raise ValidationError({"output_file_name": exc}) from exc

    @classmethod
    def compute_of_environment(cls, label: str) -> str:
        """Where an environment's build runs: the compute cluster of a deployment using it, else the default one."""
        using = cls.objects.filter(environment=label).first()
        return using.compute if using else settings.DEFAULT_COMPUTE

    def use_model_environment(self):
        """An MLflow deployment (no scoring script, no environment of its own) runs in the environment its model's
        requirements describe, as Azure generates one: the workers' own when they satisfy every requirement already
        (nothing is built), else mlflow-<model>:<version> (Environment.for_model), built when the deployment is
        cleaned (validate_environment) or by a queued task. A python pin this machine cannot satisfy is refused.
        Returns the environment the deployment now names."""
        generated = f"mlflow-{self.model_name}"[:100]
        if self.scoring_script or self.environment.split(":")[0] not in ("", generated):
            return self.environment_record
        env = Environment.for_model(self.model_name, self.model_version)
        self.environment = "" if env.is_studio else env.label
        self.__dict__.pop("environment_record", None)
        return env

    @cached_property
    def environment_record(self):
        """The jobs.Environment this deployment runs in (the workers' own when none is named); None if deleted."""
        return Environment.lookup(self.environment)

    @property
    def provisioning_state(self):
        """Azure's deployment state, from its environment's build: Creating while it builds, Failed if it cannot."""
        env = self.environment_record
        if env is None or env.state == env.FAILED:
            return "Failed"
        return "Succeeded" if env.state == env.READY else "Creating"

    def check_ready(self):
        """A job can only start once the deployment's environment is built: refuse it now, saying why."""
        if not self.environment or self.environment.split(":")[0] == "studio":
            return  # the workers' own: always ready, and no query on the submit path
        env = self.environment_record
        if env is None:
            raise ValidationError(
                "Deployment '%(name)s' cannot run jobs: its environment '%(env)s' no longer exists.",
                code="unknown_environment",
                params={"name": self.name, "env": self.environment},
            )
        if env.state == env.FAILED:
            raise ValidationError(
                "Deployment '%(name)s' cannot run jobs: environment %(env)s failed to build: %(reason)s",
                code="environment_build_failed",
                params={"name": self.name, "env": env.label, "reason": env.failure_reason},
            )
        if env.state != env.READY:
            raise ValidationError(
                "Deployment '%(name)s' is still being created: environment %(env)s is %(state)s. "
                "Submit the job once the deployment shows Succeeded.",
                code="environment_building",
                params={"name": self.name, "env": env.label, "state": env.state},
            )

    @property
    def is_custom(self):
        return bool(self.scoring_script)

    @cached_property
    def code_tree(self):
        """The code folder's folders and files, the scoring script marked (the deployment's Code + environment)."""
        return code.tree(self.code_path, self.scoring_script)

    @property
    def model_label(self):
        return f"{self.model_name}:{self.model_version}"

    @property
    def model_reference(self) -> registry.ModelReference:
        """What the deployment names: name@alias when pinned to an alias, else name:version."""
        return registry.ModelReference(self.model_name, self.model_version, self.model_alias)

    @property
    def model_display(self) -> str:
        """name@alias, or name:version, as pages and YAML name it."""
        return self.model_reference.label

    def set_model(self, reference: registry.ModelReference | str) -> registry.ModelReference:
        """Deploy the model a reference names (models:/name/1, azureml:name@champion...), checked against the
        registry: an alias is kept (each job resolves it again), 'latest' becomes the newest version now."""
        resolved = registry.resolve_version(reference)
        self.model_name, self.model_version, self.model_alias = resolved.name, resolved.version, resolved.alias
        return resolved

    @cached_property
    def alias_now(self) -> dict:
        """Pinned to an alias, what it points at now, for the deployment's page: {"version"} or {"error"}."""
        if not self.model_alias:
            return {}
        try:
            return {"version": self.resolve_model().version}
        except ValidationError as exc:
            return {"error": " ".join(exc.messages)}

    def resolve_model(self) -> registry.ModelReference:
        """The exact version a job started now scores with: the alias's version now when the deployment is pinned to
        one (a coded ValidationError when the alias was removed), else the deployment's version (no registry call)."""
        if not self.model_alias:
            return registry.ModelReference(self.model_name, self.model_version)
        try:
            return registry.resolve_version(registry.ModelReference(self.model_name, alias=self.model_alias))
        except ValidationError as exc:
            raise ValidationError(
                "Deployment '%(name)s' cannot run jobs: %(problem)s",
                code=exc.code,
                params={"name": self.name, "problem": " ".join(exc.messages)},
            ) from exc

    @property
    def is_default(self):
        return self.endpoint.default_deployment_id == self.pk

    def effective_settings(self, overrides: dict | None = None) -> dict:
        """The settings a job runs with: the deployment's, with the job's overrides on top."""
        values = {key: getattr(self, key) for key in OVERRIDABLE}
        values.update(
            {
                "max_concurrency_per_instance": self.max_concurrency_per_instance,
                "output_action": self.output_action,
                "logging_level": self.logging_level,
                "environment_variables": dict(self.environment_variables or {}),
                "output_format": self.output_format,
                "passthrough_columns": list(self.passthrough_columns or []),
                "write_manifest": self.write_manifest,
                "output_header": self.output_header,
                "split_rows": self.split_rows,
            }
        )
        for key, value in (overrides or {}).items():
            if key not in OVERRIDABLE + OUTPUT_OPTIONS:
                raise ValidationError(
                    "'%(key)s' cannot be overridden per job.", code="not_overridable", params={"key": key}
                )
            if value is not None and value != "":
                values[key] = value
        self._check_output_options(values)
        if values["output_action"] == self.SUMMARY_ONLY:
            values["output_file_name"] = ""
        validate_threshold(values["error_threshold"], values["error_threshold_unit"])
        return values

    def _check_output_options(self, values: dict):
        """A job's output options, checked as the deployment's are; a default file name follows the format."""
        if values["output_format"] not in formats.EXTENSIONS:
            raise ValidationError(
                "Output format '%(format)s' is not one of %(formats)s.",
                code="invalid_output_format",
                params={"format": values["output_format"], "formats": ", ".join(formats.EXTENSIONS)},
            )
        if isinstance(values["passthrough_columns"], str):
            values["passthrough_columns"] = split_columns(values["passthrough_columns"])
        validate_passthrough_columns(values["passthrough_columns"])
        if values["passthrough_columns"] and self.scoring_script:
            raise PASSTHROUGH_NEEDS_MLFLOW
        values["write_manifest"] = bool(values["write_manifest"])
        values["output_header"] = bool(values["output_header"])
        validate_split_rows(values["split_rows"])
        if values["split_rows"] and self.scoring_script:
            raise SPLIT_NEEDS_MLFLOW
        validate_output_file_name(values["output_file_name"])
        values["output_file_name"] = formats.output_name(values["output_file_name"], values["output_format"])
        validate_output_extension(values["output_file_name"], values["output_format"])


def validate_threshold(threshold, unit):
    """An error threshold as a job runs with it: a whole number from -1 (never fail), a unit of THRESHOLD_UNITS, and
    no percentage above 100."""
    if not isinstance(threshold, int) or not -1 <= threshold <= MAX_THRESHOLD:
        raise ValidationError(
            "The error threshold is a whole number from -1 (never fail) to %(max)s, not %(value)s.",
            code="invalid_setting",
            params={"value": threshold, "max": f"{MAX_THRESHOLD:,}"},
        )
    units = dict(BatchDeployment.THRESHOLD_UNITS)
    if unit not in units:
        raise ValidationError(
            "error_threshold_unit must be one of %(units)s, not '%(value)s'.",
            code="invalid_setting",
            params={"units": ", ".join(units), "value": unit},
        )
    validate_percent_threshold(threshold, unit)


def validate_percent_threshold(threshold, unit):
    """A percentage of rows above 100 would never fail the job: -1 says that."""
    if unit == BatchDeployment.PERCENT and isinstance(threshold, int) and threshold > 100:
        raise ValidationError(
            "An error threshold in percent of rows is at most 100 (-1: never fail), not %(value)s.",
            code="invalid_setting",
            params={"value": threshold},
        )


# Azure's per-job overrides (output location is given separately).
OVERRIDABLE = (
    "instance_count",
    "mini_batch_size",
    "max_retries",
    "timeout",
    "error_threshold",
    "error_threshold_unit",
    "output_file_name",
)
# Beyond Azure: output options a job may also set (see docs/ENGINE.md, Output options), and split_rows (Splitting
# large files).
OUTPUT_OPTIONS = ("output_format", "passthrough_columns", "write_manifest", "output_header", "split_rows")
PASSTHROUGH_NEEDS_MLFLOW = ValidationError(
    "Passthrough columns need an MLflow deployment: a scoring script writes its own output columns.",
    code="passthrough_needs_mlflow",
)
SPLIT_NEEDS_MLFLOW = ValidationError(
    "split_rows needs an MLflow deployment: a scoring script's run() is given whole files.",
    code="split_rows_needs_mlflow",
)


def split_columns(text: str) -> list[str]:
    """'id, region' -> ['id', 'region']."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def known_clusters() -> list[str]:
    """Every compute cluster the site knows: the default, those registered, those workers served, those deployments
    name."""
    return sorted(
        {
            settings.DEFAULT_COMPUTE,
            *ComputeCluster.objects.values_list("name", flat=True),
            *Worker.objects.values_list("cluster", flat=True).distinct(),
            *BatchDeployment.objects.values_list("compute", flat=True).distinct(),
        }
    )
