"""workspace/redact.py and storage.split_sas: a secret inside a URL or a connection string, as pages and logs show it,
and a public input URL's SAS token split off the URL the job's files are named by."""

import pytest

from workspace.redact import redact
from workspace.storage import split_sas

BLOB = "https://acct.blob.core.windows.net/c/data/"
S3 = "https://lake.s3.eu-west-1.amazonaws.com/data/iris.csv"
PRESIGNED = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=T0KEN&X-Amz-Expires=3600&X-Amz-Signature=5ec2e7"


@pytest.mark.parametrize(
    "text,shown",
    [
        (f"{BLOB}?sv=2024-01-01&sig=SECRET%2Bkey%3D&sp=rl", f"{BLOB}?sv=2024-01-01&sig=REDACTED&sp=rl"),
        (f"Cannot read {BLOB}x.csv?SIG=abc (HTTP 403)", f"Cannot read {BLOB}x.csv?SIG=REDACTED (HTTP 403)"),
        ("AccountName=a;AccountKey=k3y+/==;EndpointSuffix=x", "AccountName=a;AccountKey=REDACTED;EndpointSuffix=x"),
        ("SharedAccessSignature=sv=1&sig=abc", "SharedAccessSignature=REDACTED&sig=REDACTED"),
        ("postgresql://studio:pa55@db:5432/studio", "postgresql://db:5432/studio"),
        (
            f"{S3}?{PRESIGNED}",
            f"{S3}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=REDACTED&X-Amz-Expires=3600"
            "&X-Amz-Signature=REDACTED",
        ),
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
        (f"{S3}?{PRESIGNED}", (S3, PRESIGNED)),  # an S3 presigned URL: its signature kept as a SAS token is
        (f"{BLOB}iris.csv?raw=1", (f"{BLOB}iris.csv?raw=1", "")),  # a query with no credential stays in the URL
        (f"{BLOB}iris.csv", (f"{BLOB}iris.csv", "")),
    ],
)
def test_a_sas_token_is_split_off_a_public_url(url, split):
    assert split_sas(url) == split
