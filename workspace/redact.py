"""Secrets out of log lines and error messages: the storage SDK's own request log redacts them, but urllib3's debug
log writes each request's URL whole (a SAS-authenticated request carries its signature in the query string), and
MLflow's errors quote the tracking URI, password included."""

import logging
import re

# SAS query parameters (sig), an S3 presigned URL's signature (SigV4) and session token, and
# connection-string fields that are credentials on their own.
SECRET_FIELDS = re.compile(
    r"(?i)\b(sig|X-Amz-Signature|X-Amz-Security-Token|AccountKey|SharedAccessSignature|SharedAccessKey)"
    r"=([^&;\s\"']+)"
)
# user:password@ in a URL (a registry or database URI quoted by an exception message)
URL_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")


def redact(text: str) -> str:
    return URL_USERINFO.sub("", SECRET_FIELDS.sub(r"\1=REDACTED", text))


class RedactSecrets(logging.Filter):
    """A logger filter: the record's message, formatted, with every secret field's value replaced."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
