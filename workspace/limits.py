"""The sizes the Studio accepts (docs/SECURITY.md lists them): one place, checked at each boundary."""

from django.conf import settings
from django.core.exceptions import ValidationError


def check_description(value, what: str = "The description"):
    """A description is a sentence or a page, not a file: refused past settings.DESCRIPTION_MAX_CHARS."""
    if isinstance(value, str) and len(value) > settings.DESCRIPTION_MAX_CHARS:
        raise ValidationError(
            "%(what)s is %(length)s characters long; the limit is %(max)s.",
            code="too_long",
            params={"what": what, "length": f"{len(value):,}", "max": f"{settings.DESCRIPTION_MAX_CHARS:,}"},
        )


def refuse_long_description(sender, instance, **kwargs):
    """pre_save of every model with a description: nothing stores one past the limit, whichever way it came."""
    if sender._meta.app_label in OUR_APPS:
        check_description(getattr(instance, "description", None))


OUR_APPS = {"studio", "endpoints", "jobs", "schedules", "api", "compute"}


def check_upload_size(total: int):
    """Files uploaded at once as one dataset version: refused past settings.DATASET_UPLOAD_MAX_BYTES."""
    if total > settings.DATASET_UPLOAD_MAX_BYTES:
        raise ValidationError(
            "The files are %(size)s MB together; the upload limit is %(max)s MB.",
            code="too_large",
            params={"size": f"{total / 2**20:,.1f}", "max": f"{settings.DATASET_UPLOAD_MAX_BYTES // 2**20:,}"},
        )


def json_depth(value) -> int:
    """How deeply a parsed JSON value nests (a scalar: 0), measured without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
