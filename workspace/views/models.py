from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render

from jobs import warm
from studio.views.access import requires
from studio.views.buttons import button_of
from workspace import registry
from workspace.forms import RegisterModelForm
from workspace.roles import MANAGE_ENDPOINTS, REGISTER_ASSETS, VIEW


@requires(VIEW)
def model_list(request):
    try:
        models, error = registry.list_models(), ""
    except registry.RegistryError as exc:
        models, error = [], str(exc)
    return render(request, "studio/models.html", {"models": models, "error": error})


@requires(REGISTER_ASSETS)
def model_register(request):
    form = RegisterModelForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = form.register()
        except ValidationError as exc:
            form.add_error("model_zip", exc)
        else:
            messages.success(request, f"Registered {version.label}.")
            return redirect("model-detail", version.name, version.version)
    return render(request, "studio/model_register.html", {"form": form})


@requires(VIEW)
def model_detail(request, name, version):
    try:
        model = registry.find(registry.ModelReference(name, version))
        versions = registry.list_versions(name)
        aliases = registry.model_aliases(name)
    except (ValidationError, registry.RegistryError) as exc:
        raise Http404(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
    return render(
        request,
        "studio/model_detail.html",
        {"model": model, "versions": versions, "aliases": aliases, "run_url": registry.run_url(model.run_id)},
    )


# Moving an alias changes what every deployment pinned to it scores with: the right of who manages deployments.
@requires(MANAGE_ENDPOINTS)
@button_of("model-detail", "Set alias")
def model_alias(request, name, version):
    """Set alias (point it at this version, moving it from another) or Remove it."""
    alias = request.POST.get("alias", "").strip()
    try:
        if request.POST.get("remove"):
            registry.delete_alias(name, alias)
            messages.success(request, f"Removed alias @{alias} of {name}.")
        else:
            ref = registry.set_alias(name, alias, version)
            warm.alias_moved(name, ref.alias)
            messages.success(
                request,
                f"@{ref.alias} now names {name}:{ref.version}: deployments pinned to it use it from their next job.",
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("model-detail", name, version)
