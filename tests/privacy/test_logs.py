"""Log output carries no personal data: the console handler's formatter redacts each line."""

from __future__ import annotations

import io
import logging

from urbangov.privacy.logs import RedactingFormatter


def test_the_configured_console_handler_redacts_messages_and_tracebacks() -> None:
    # The handler Django's LOGGING built for the root logger (settings.py), not a new one.
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, RedactingFormatter)
    ]
    assert handlers, "the console handler must use the redacting formatter"
    handler = handlers[0]
    out = io.StringIO()
    # Swapped by hand: setStream() would flush the old stream, which pytest's capture of an
    # earlier test may have closed.
    previous, handler.stream = handler.stream, out
    try:
        logger = logging.getLogger("urbangov.test.logs")
        logger.warning("callback failed for %s at %s", "13912345678", "幸福路88号3栋1201室")
        try:
            raise ValueError("no answer from 联系人欧阳锦绣")
        except ValueError:
            logger.exception("while handling")
    finally:
        handler.stream = previous
    err = out.getvalue()
    assert "callback failed for 139****5678 at [地址]" in err
    assert "while handling" in err and "ValueError" in err
    for secret in ("13912345678", "幸福路88号", "欧阳锦绣"):
        assert secret not in err
