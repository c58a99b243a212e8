"""The ``urbangov`` command: Django's manage.py plus our own verbs.

    urbangov migrate | createsuperuser | …   any Django management command
    urbangov serve [--bind ADDR] [--workers N]   gunicorn with whitenoise
    urbangov worker                           background tasks and periodic jobs
    urbangov demo [--cases N] [--seed S] [--port P] [--no-serve]
    urbangov auditlog seal|verify, urbangov open311 create-key NAME, urbangov import-cases …

Hyphenated verbs map to management commands with underscores (import-cases → import_cases).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path


def _demo_secret() -> None:
    """The demo runs like production (DEBUG off), so it needs a secret key of its own."""
    # The demo serves plain http on localhost.
    os.environ.setdefault("URBANGOV_HTTPS", "0")
    # Its accounts are for trying the system: no authenticator app asked for (staff may still
    # enrol one at /accounts/2fa/setup/). Said on start, so nobody mistakes it for production.
    if "URBANGOV_REQUIRE_2FA" not in os.environ:
        os.environ["URBANGOV_REQUIRE_2FA"] = "0"
        print(
            "Demo: two-factor sign-in for staff is off (URBANGOV_REQUIRE_2FA=0); "
            "in production it is on.",
            file=sys.stderr,
            flush=True,
        )
    if os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE"):
        return
    data_dir = Path(os.environ.get("URBANGOV_DATA_DIR") or Path.cwd() / "data")
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "demo-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    os.environ["SECRET_KEY_FILE"] = str(key_file)


# Verbs that analyse a file given on the command line and touch neither the database nor
# anything signed: they run anywhere, without the city's secret key.
FILE_VERBS = {
    ("pii", "scan"),
    ("pii", "redact"),
    ("equity", "fca"),
    ("audit", "run"),
    ("hotspots", "detect"),
    ("dispatch", "evaluate"),
    ("deliberation", "analyze"),
}


def _file_verb_secret(argv: list[str]) -> None:
    """A throwaway key for this process only, so the file verbs need no configuration."""
    if tuple(argv[1:3]) in FILE_VERBS and not (
        os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE")
    ):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)


def locale_language(environ: Mapping[str, str] = os.environ) -> str | None:
    """The language of the operator's POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the
    first set) among the site's languages, as Django matches a browser's (``zh_TW`` → zh-hant,
    ``zh_CN`` → zh-hans, ``en_GB`` → en); ``C``/``POSIX`` is English; anything else, or nothing
    set: ``None``, the city's own language. Needs the settings loaded."""
    from django.utils import translation

    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if not value:
            continue
        tag = value.split(".")[0].split("@")[0]
        code = "en" if tag in ("C", "POSIX") else tag.replace("_", "-").lower()
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            return None
    return None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangov.settings")
    verb = argv[1] if len(argv) > 1 else "help"
    if verb == "demo":
        _demo_secret()
    _file_verb_secret(argv)
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - reads the environment now, to report it clearly
    except ImproperlyConfigured as exc:
        sys.exit(f"urbangov: {exc}")
    import django

    django.setup()
    if verb in ("serve", "worker"):
        from urbangov import runtime

        runtime.serve(argv[2:]) if verb == "serve" else runtime.worker(argv[2:])
        return
    # Messages and errors in the operator's language, as other command-line tools speak it.
    language = locale_language()
    if language:
        from django.utils import translation

        translation.activate(language)
    if "-" in verb and not verb.startswith("-"):
        argv[1] = verb.replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
