"""Register an S3 datastore in the browser, by the labels AWS uses, against a real S3 server; then browse it."""

from tests.conftest import sign_in
from tests.fixtures.s3 import REGION

S3_ONLY = ("Endpoint URL", "Bucket", "Region", "Access key ID", "Secret access key")


def test_register_an_s3_datastore_and_browse_it(page, live_server, user, s3):
    bucket = s3.bucket(files={"iris/iris-1.csv": b"a,b\n1,2\n", "iris/more/iris-2.csv": b"a,b\n3,4\n"})
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/data/datastores/register/")
    assert not any(page.get_by_label(label, exact=True).is_visible() for label in S3_ONLY)
    page.get_by_label("Kind").select_option(label="Amazon S3 (or S3-compatible)")
    assert all(page.get_by_label(label, exact=True).is_visible() for label in S3_ONLY)
    assert not page.get_by_label("Account URL").is_visible() and not page.get_by_label("Container").is_visible()

    page.get_by_label("Name").fill("lake")
    page.get_by_label("Endpoint URL").fill(s3.endpoint_url)
    page.get_by_label("Bucket").fill(bucket)
    page.get_by_label("Region").fill(REGION)
    page.get_by_label("Access key ID").fill(s3.access_key_id)
    page.get_by_label("Secret access key").fill(s3.secret_access_key)
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Datastore lake saved; the connection test passed.").wait_for()
    row = page.get_by_role("row").filter(has_text="lake")
    assert "Amazon S3 (or S3-compatible)" in row.inner_text() and f"s3://{bucket}" in row.inner_text()

    row.get_by_role("link", name="lake").click()
    page.get_by_text("iris/").click()
    page.get_by_text("iris-1.csv").wait_for()
    assert page.get_by_text("more/").is_visible()
