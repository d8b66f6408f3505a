"""System checks (`manage.py check`, run at every start): the server's own files stay out of every datastore."""

from pathlib import Path

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def static_root_outside_datastores(app_configs=None, **kwargs):
    """STATIC_ROOT is served as the Studio's own origin: a datastore that could write there is a stored XSS."""
    from workspace.models import local_roots  # each datastore's own folder is checked whenever it is used

    static = Path(settings.STATIC_ROOT).resolve()
    roots = [*local_roots(), (Path(settings.STUDIO_HOME) / "datastores").resolve()]
    clashes = [r for r in roots if r == static or r in static.parents or static in r.parents]
    return [
        checks.Error(
            f"STATIC_ROOT ({static}) and the local datastore folder {root} overlap: a job could write static files.",
            hint="Move STATIC_ROOT or LOCAL_DATASTORE_ROOTS so that neither is inside the other.",
            id="studio.E001",
        )
        for root in clashes
    ]
