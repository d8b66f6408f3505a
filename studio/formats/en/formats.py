"""One way to write a date and time on every page, as the tables do: 2026-11-26 01:27:54 (sorts as it reads)."""

DATETIME_FORMAT = "Y-m-d H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
