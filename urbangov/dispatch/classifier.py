"""The dispatch model in service, loaded once per process and kept.

Which version is active lives in the database (:class:`urbangov.algorithms.models.Algorithm`
``active_version``); each process looks at most every few seconds and loads a new version's
artefact when it changes. A version whose artefact does not load (corrupt, foreign) is never
put in place: the process keeps running the model it has, and says so in the log.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from urbangov.algorithms import actions as register
from urbangov.algorithms.models import Algorithm, AlgorithmVersion
from urbangov.analytics import textclf

logger = logging.getLogger("urbangov.dispatch")

ALGORITHM = "dispatch"
ARTEFACT_FORMAT = f"urbangov-textclf/{textclf.FORMAT}"
CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Loaded:
    version: AlgorithmVersion
    model: textclf.Model


_lock = threading.Lock()
_loaded: Loaded | None = None
_checked_at = 0.0


def load_version(version: AlgorithmVersion) -> textclf.Model:
    """The version's model; ValidationError saying why where it cannot be run."""
    if version.artefact_format != ARTEFACT_FORMAT:
        raise ValidationError(
            _("Version %(v)s is a %(fmt)s artefact; this dispatcher runs %(ours)s.")
            % {"v": version.version, "fmt": version.artefact_format or "?", "ours": ARTEFACT_FORMAT}
        )
    data = register.artefact_bytes(version)
    try:
        model = textclf.Model.from_bytes(data)
    except textclf.ModelFormatError as exc:
        raise ValidationError(
            _("The model of version %(v)s cannot be loaded: %(error)s")
            % {"v": version.version, "error": exc}
        ) from exc
    for block in model.blocks:
        block.table()  # built now, not on the first case
    model.weights()
    return model


def verify(version: AlgorithmVersion) -> None:
    """Check that the dispatcher can run ``version`` (for activation)."""
    load_version(version)


def current() -> Loaded | None:
    """The model in service, or None when no version is active (or none could be loaded)."""
    global _loaded, _checked_at
    now = time.monotonic()
    if _loaded is not None and now - _checked_at < CHECK_SECONDS:
        return _loaded
    with _lock:
        if _loaded is not None and time.monotonic() - _checked_at < CHECK_SECONDS:
            return _loaded
        active_id = (
            Algorithm.objects.filter(code=ALGORITHM)
            .values_list("active_version", flat=True)
            .first()
        )
        _checked_at = time.monotonic()
        if active_id is None:
            _loaded = None
            return None
        if _loaded is not None and _loaded.version.pk == active_id:
            return _loaded
        version = AlgorithmVersion.objects.select_related("algorithm").get(pk=active_id)
        try:
            model = load_version(version)
        except ValidationError as exc:
            logger.error(
                "dispatch version %s cannot be loaded (%s); keeping %s",
                version.version,
                " ".join(exc.messages),
                _loaded.version.version if _loaded else "no model",
            )
            return _loaded
        _loaded = Loaded(version, model)
        logger.info("dispatch model version %s loaded", version.version)
        return _loaded


def forget() -> None:
    """Drop the cached model (tests; a process that wants to look again at once)."""
    global _loaded, _checked_at
    with _lock:
        _loaded = None
        _checked_at = 0.0


@lru_cache(maxsize=1)
def lexicon() -> dict[int, str]:
    """jieba's dictionary as a lexicon for the word block (training only). jieba reads it
    from its own package; nothing is downloaded."""
    import logging as _logging

    import jieba

    jieba.setLogLevel(_logging.WARNING)
    jieba.initialize()
    return textclf.lexicon_keys(w for w, freq in jieba.dt.FREQ.items() if freq > 0)
