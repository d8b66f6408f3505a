"""Register datastore in the browser: the form shows the fields of the chosen Kind only."""

from tests.conftest import sign_in


def test_register_datastore_shows_only_the_fields_of_the_chosen_kind(page, live_server, user):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/data/datastores/register/")
    azure_only = ("Account URL", "Container", "Authentication", "Account key, SAS token or connection string")
    assert page.get_by_label("Folder (local)").is_visible()  # Local folder is the default kind
    assert not any(page.get_by_label(label, exact=True).is_visible() for label in azure_only)
    page.get_by_label("Kind").select_option(label="Azure Blob Storage")
    assert all(page.get_by_label(label, exact=True).is_visible() for label in azure_only)
    assert not page.get_by_label("Folder (local)").is_visible()
