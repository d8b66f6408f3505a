"""workspace/redact.py and storage.split_sas: a secret inside a URL or a connection string, as pages and logs show it,
and a public input URL's SAS token split off the URL the job's files are named by."""

import pytest

from workspace.redact import redact
from workspace.storage import split_sas

BLOB = "https://acct.blob.core.windows.net/c/data/"


@pytest.mark.parametrize(
    "text,shown",
    [
        (f"{BLOB}?sv=2024-01-01&sig=SECRET%2Bkey%3D&sp=rl", f"{BLOB}?sv=2024-01-01&sig=REDACTED&sp=rl"),
        (f"Cannot read {BLOB}x.csv?SIG=abc (HTTP 403)", f"Cannot read {BLOB}x.csv?SIG=REDACTED (HTTP 403)"),
        ("AccountName=a;AccountKey=k3y+/==;EndpointSuffix=x", "AccountName=a;AccountKey=REDACTED;EndpointSuffix=x"),
        ("SharedAccessSignature=sv=1&sig=abc", "SharedAccessSignature=REDACTED&sig=REDACTED"),
        ("postgresql://studio:pa55@db:5432/studio", "postgresql://db:5432/studio"),
        (f"{BLOB}?restype=container", f"{BLOB}?restype=container"),  # nothing secret: unchanged
        ("azureml://datastores/workspaceblobstore/paths/iris", "azureml://datastores/workspaceblobstore/paths/iris"),
    ],
)
def test_it_redacts_every_secret_field(text, shown):
    assert redact(text) == shown


@pytest.mark.parametrize(
    "url,split",
    [
        (f"{BLOB}?sv=2024-01-01&sig=S3CRET&sp=rl", (BLOB, "sv=2024-01-01&sig=S3CRET&sp=rl")),
        (f"{BLOB}iris.csv?sig=S3CRET#frag", (f"{BLOB}iris.csv", "sig=S3CRET")),
        (f"{BLOB}iris.csv?raw=1", (f"{BLOB}iris.csv?raw=1", "")),  # a query with no credential stays in the URL
        (f"{BLOB}iris.csv", (f"{BLOB}iris.csv", "")),
    ],
)
def test_a_sas_token_is_split_off_a_public_url(url, split):
    assert split_sas(url) == split
