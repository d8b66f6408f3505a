"""What the write routes share: Azure's YAML read from a JSON body, the first error of a form, and Azure's paging."""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.urls import reverse

from api.auth import ApiError, parse_json
from cli import yaml_document

SOURCE = "request body"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def document(request, field: str = "", **fixed) -> yaml_document.Document:
    """The body as Azure's YAML file (JSON is YAML), read by cli.yaml_document so that its checks and coded errors are
    the command line's; or, given `field`, the JSON in that field of a multipart body. `fixed` are the keys the URL
    names (name=..., endpoint_name=...): the body may repeat them, not contradict them."""
    raw = request.POST.get(field, "") if field else request.body
    body = parse_json(raw)  # JSON only (and its limits): a YAML body could hold anchors that expand past them
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    for key, value in fixed.items():
        if key in body and body[key] != value:
            raise ApiError(
                400, "name_mismatch", f"The body's {key} '{body[key]}' is not the URL's '{value}': leave it out."
            )
    try:  # the lines of the keys, for the messages; a key given twice is refused here
        doc = yaml_document.loads(text if body else "", source=SOURCE)
    except ValidationError as exc:
        if exc.code != "invalid_yaml":
            raise
        doc = yaml_document.Document(data={}, source=SOURCE)  # JSON that YAML does not read (a tab): no lines
    doc.data = {**body, **fixed}  # JSON's own values (YAML 1.1 reads 1e3 as a string)
    return doc


def refuse_server_paths(doc: yaml_document.Document, *keys: str):
    """A file's `path:` names the author's own disk; over the API it would name the server's. The keys given (those
    of the document that would read a file or folder there) are refused when present."""
    for key in keys:
        if doc.has(key):
            raise doc.error(
                key,
                "'%(key)s' names a file on the server: over the API give registered assets "
                "(azureml:<name>:<version>), a datastore path or an inline mapping instead.",
                "server_path",
            )


def form_error(form) -> ValidationError:
    """A form's first error as the coded ValidationError an API answer is made of, its field named."""
    field_name, errors = next(iter(form.errors.as_data().items()))
    prefix = "" if field_name == "__all__" else f"{field_name}: "
    return ValidationError(prefix + " ".join(errors[0].messages), code=errors[0].code or "invalid")


def _int(request, *names, default: int) -> int:
    for name in names:
        if name in request.GET:
            try:
                return int(request.GET[name])
            except ValueError as exc:
                raise ApiError(400, "invalid_paging", f"{name} must be an integer.") from exc
    return default


def page(request, queryset) -> dict:
    """Azure's paging: `$top` items (or `top`), from `$skiptoken` (or `skip`); `nextLink` is the absolute URL of the
    next page while there is one. The token is the offset: a list that grows at its top while a client pages shifts."""
    top = min(max(_int(request, "$top", "top", default=PAGE_SIZE), 1), MAX_PAGE_SIZE)
    skip = max(_int(request, "$skiptoken", "skip", default=0), 0)
    items = list(queryset[skip : skip + top + 1])
    answer = {"value": items[:top]}
    if len(items) > top:
        query = {k: v for k, v in request.GET.items() if k not in ("$top", "top", "$skiptoken", "skip")}
        query.update({"$top": top, "$skiptoken": skip + top})
        answer["nextLink"] = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
    return answer


def answer(data: dict, created: bool, request, url_name: str, *args) -> JsonResponse:
    """201 with Location (the new thing's API URL) for what a request made, 200 for what it changed."""
    response = JsonResponse(data, status=201 if created else 200)
    if created:
        response["Location"] = request.build_absolute_uri(reverse(url_name, args=args))
    return response
