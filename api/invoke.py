"""Azure's batch invoke body, read into submit_job's arguments.

{"properties": {"InputData": {"<any>": {"JobInputType": "UriFolder", "Uri": "..."}},
                "OutputData": {"score": {"JobOutputType": "UriFile", "Uri": "azureml://datastores/<ds>/paths/<folder>/<file>"}},
                "settings": {"mini_batch_size": 5, "retry_settings": {"max_retries": 1, "timeout": 60}, ...}}}
"""

from django.core.exceptions import ValidationError

from endpoints.models import OUTPUT_OPTIONS, OVERRIDABLE
from jobs.inputs import DATASTORE_URI
from workspace import storage

INPUT_TYPES = ("UriFolder", "UriFile")
OUTPUT_TYPES = ("UriFolder", "UriFile")
INT_SETTINGS = {"instance_count", "mini_batch_size", "max_retries", "timeout", "error_threshold"}
# Beyond Azure: the output options, of their own types.
OPTION_TYPES = {
    "output_format": (str, "a string"),
    "passthrough_columns": (list, "a list of column names"),
    "write_manifest": (bool, "true or false"),
    "output_header": (bool, "true or false"),
    "split_rows": (int, "an integer (0: off)"),
}


def _fail(code: str, message: str, **params):
    raise ValidationError(message, code=code, params=params)


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        _fail("invalid_body", "%(where)s must be a JSON object.", where=where)
    return value


def parse_input(input_data) -> str:
    entries = _mapping(input_data, "properties.InputData")
    if len(entries) != 1:
        _fail("invalid_input", "properties.InputData must name exactly one input (it has %(n)d).", n=len(entries))
    ((key, spec),) = entries.items()
    spec = _mapping(spec, f"properties.InputData.{key}")
    kind = spec.get("JobInputType", "UriFolder")
    if kind not in INPUT_TYPES:
        _fail("invalid_input", "JobInputType '%(kind)s' is not supported: use UriFolder or UriFile.", kind=kind)
    uri = spec.get("Uri")
    if not isinstance(uri, str) or not uri.strip():
        _fail("invalid_input", "properties.InputData.%(key)s.Uri is required.", key=key)
    return uri.strip()


def parse_output(output_data) -> dict:
    """submit_job's output_datastore/output_path, and output_file_name for a UriFile output."""
    if output_data in (None, {}):
        return {}
    entries = _mapping(output_data, "properties.OutputData")
    if set(entries) != {"score"}:
        _fail("invalid_output", "properties.OutputData takes one output, named 'score'.")
    spec = _mapping(entries["score"], "properties.OutputData.score")
    kind = spec.get("JobOutputType", "UriFolder")
    if kind not in OUTPUT_TYPES:
        _fail("invalid_output", "JobOutputType '%(kind)s' is not supported: use UriFile or UriFolder.", kind=kind)
    match = DATASTORE_URI.match(str(spec.get("Uri") or ""))
    if not match:
        _fail("invalid_output", "The output Uri must look like azureml://datastores/<name>/paths/<path>.")
    path = storage.clean_path(match["path"])
    result = {"output_datastore": match["name"]}
    if kind == "UriFile":
        folder, _, file_name = path.rpartition("/")
        if not file_name:
            _fail("invalid_output", "A UriFile output must end with a file name.")
        result.update(output_path=folder or None, output_file_name=file_name)
    else:
        result["output_path"] = path or None
    return result


def parse_settings(block) -> dict:
    """Per-job overrides; retry_settings may be nested as in the deployment YAML."""
    if block is None:
        return {}
    block = dict(_mapping(block, "properties.settings"))
    retry = _mapping(block.pop("retry_settings", {}), "properties.settings.retry_settings")
    for key in retry:
        if key not in ("max_retries", "timeout"):
            _fail("unknown_setting", "Unknown setting 'retry_settings.%(key)s'.", key=key)
    block.update(retry)
    for key, value in block.items():
        if key not in OVERRIDABLE + OUTPUT_OPTIONS:
            _fail(
                "unknown_setting",
                "Unknown setting '%(key)s': a job can override %(allowed)s.",
                key=key,
                allowed=", ".join(OVERRIDABLE + OUTPUT_OPTIONS),
            )
        wanted, described = OPTION_TYPES.get(key) or ((int, "an integer") if key in INT_SETTINGS else (str, "a string"))
        if not isinstance(value, wanted) or (isinstance(value, bool) and wanted is not bool):
            _fail("invalid_setting", "Setting '%(key)s' must be %(type)s.", key=key, type=described)
    return block


def parse(body: dict) -> dict:
    """The keyword arguments of submit_job (without endpoint, deployment, user and request id)."""
    properties = _mapping(body.get("properties"), "properties")
    overrides = parse_settings(properties.get("settings"))
    output = parse_output(properties.get("OutputData"))
    if "output_file_name" in output:
        if overrides.get("output_file_name", output["output_file_name"]) != output["output_file_name"]:
            _fail("invalid_output", "The output Uri and settings.output_file_name name different files.")
        overrides["output_file_name"] = output.pop("output_file_name")
    return {"input_uri": parse_input(properties.get("InputData")), "overrides": overrides, **output}
