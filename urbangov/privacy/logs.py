"""Log output without personal data: the formatter of the console handler redacts every line
it writes (message, arguments and traceback alike) with the PII detector, as a reader without
a purpose would see it. Logs are read by operators and shipped to other systems; a resident's
phone number in an error message must not travel with them."""

from __future__ import annotations

import logging

from urbangov.analytics import pii


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return pii.redact(super().format(record))
