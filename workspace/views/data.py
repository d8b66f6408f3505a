"""Data: datastores (register, edit, delete, set default, browse) and datasets (register, files, preview)."""

import posixpath

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from engine import reading
from engine.errors import FileError
from studio.views.access import requires
from studio.views.buttons import button_of
from workspace import storage
from workspace.forms import DatasetForm, DatastoreForm
from workspace.models import Dataset, Datastore
from workspace.roles import MANAGE_DATASTORES, REGISTER_ASSETS, VIEW

PREVIEW_ROWS = 20
PREVIEW_MAX_BYTES = 20 * 1024 * 1024


@requires(VIEW)
def data_home(request):
    default_store = Datastore.get_default()
    latest = {}
    for ds in Dataset.objects.select_related("datastore"):  # ordered by name, newest first: the first is the latest
        latest.setdefault(ds.name, ds)
    return render(
        request,
        "studio/data.html",
        {"datastores": Datastore.objects.all(), "datasets": list(latest.values()), "default_store": default_store},
    )


@requires(MANAGE_DATASTORES)
@sensitive_post_parameters("secret")
def datastore_register(request):
    return _datastore_form(request, Datastore())


@requires(MANAGE_DATASTORES)
@sensitive_post_parameters("secret")
def datastore_edit(request, name):
    return _datastore_form(request, get_object_or_404(Datastore, name=name))


def _datastore_form(request, store):
    form = DatastoreForm(request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Datastore {store.name} saved; the connection test passed.")
        return redirect("data")
    return render(request, "studio/datastore_form.html", {"form": form, "store": store})


@requires(MANAGE_DATASTORES)
@button_of("data", "Delete")
def datastore_delete(request, name):
    store = get_object_or_404(Datastore, name=name)
    if reasons := store.users():
        messages.error(request, f"Datastore {name} is in use and was not deleted: {'; '.join(reasons)}.")
    else:
        store.delete()  # the data itself stays where it is: only the registration goes
        messages.success(request, f"Datastore {name} deleted (its data was not touched).")
    return redirect("data")


@requires(MANAGE_DATASTORES)
@button_of("data", "Set as default")
def datastore_set_default(request, name):
    store = get_object_or_404(Datastore, name=name)
    store.set_default()
    messages.success(request, f"{name} is now the default datastore.")
    return redirect("data")


@requires(VIEW)
def datastore_browse(request, name):
    """The datastore browser: the direct children of one folder, as a page or as an htmx fragment.

    GET /data/datastores/<name>/browse/?path=<folder>&target=<input id>&fill=uri|path

    - path: the folder to list (default: the root). Folders expand in place (htmx) into the same fragment.
    - target: the id of an <input> in the including page; "Pick" on a file or folder sets its value and fires
      a bubbling "change" event. Without target no Pick buttons are shown.
    - fill: what Pick writes: "uri" (default, azureml://datastores/<name>/paths/<path>) or "path" (the bare path).
    Include it with: <div hx-get="{% url 'datastore-browse' name %}?target=id_input" hx-trigger="load"></div>
    """
    store = get_object_or_404(Datastore, name=name)
    path, error, entries, skipped = request.GET.get("path", ""), "", [], []
    try:
        path = storage.clean_path(path)
        client = store.client()
        entries = client.list(path)
        skipped = getattr(client, "skipped", [])
    except (storage.StorageError, ValidationError) as exc:
        error = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
    context = {
        "store": store,
        "path": path,
        "entries": entries,
        "error": error,
        "skipped": skipped,
        "target": request.GET.get("target", ""),
        "fill": "path" if request.GET.get("fill") == "path" else "uri",
    }
    template = "studio/_datastore_browser.html" if request.htmx else "studio/datastore_browse.html"
    return render(request, template, context)


@requires(REGISTER_ASSETS)
def dataset_register(request):
    form = DatasetForm(request.POST or None, request.FILES or None, initial={"name": request.GET.get("name", "")})
    if request.method == "POST" and form.is_valid():
        try:
            dataset = form.register(request.user)
        except (ValidationError, storage.StorageError) as exc:
            form.add_error(None, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, f"Registered dataset {dataset.name} version {dataset.version}.")
            return redirect("dataset-detail", dataset.name, dataset.version)
    return render(request, "studio/dataset_register.html", {"form": form, "default_store": Datastore.get_default()})


@requires(VIEW)
def dataset_detail(request, name, version):
    try:
        dataset = Dataset.lookup(name, version)
    except ValidationError as exc:
        raise Http404(exc.messages[0]) from exc
    files, error = [], ""
    try:
        files = dataset.files()
    except storage.StorageError as exc:
        error = str(exc)
    preview = _preview(dataset, request.GET.get("preview", ""), files)
    return render(
        request,
        "studio/dataset_detail.html",
        {
            "dataset": dataset,
            "files": files,
            "error": error,
            "preview": preview,
            "versions": Dataset.objects.filter(name=name),
        },
    )


def _preview(dataset, path, files):
    """The first rows of one tabular file of the dataset, or why it cannot be shown."""
    if not path:
        return None
    entry = next((f for f in files if f.path == path), None)
    if entry is None:
        return {"path": path, "error": "This file is not part of the dataset."}
    if entry.size > PREVIEW_MAX_BYTES:
        return {"path": path, "error": f"The file is too large to preview ({entry.size:,} bytes)."}
    try:
        frame = reading.read_frame(posixpath.basename(path), dataset.datastore.client().read_bytes(path))
    except FileError as exc:
        return {"path": path, "error": exc.message}
    except storage.StorageError as exc:
        return {"path": path, "error": str(exc)}
    head = frame.head(PREVIEW_ROWS)
    return {"path": path, "columns": list(head.columns), "rows": head.astype(str).values.tolist(), "total": len(frame)}
