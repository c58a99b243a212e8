"""Hardening: the Content-Security-Policy (and templates that need no inline script or style),
sign-in throttling, the TOTP second factor for staff, the limit on anonymous public reads,
and the deployment settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD, City, RateClock
from urbangov.org.models import ApiToken, hash_token
from urbangov.privacy.models import AuditEvent

pytestmark = pytest.mark.usefixtures("english")


ROOT = Path(__file__).resolve().parents[2]


# --- Content-Security-Policy -----------------------------------------------------------------


@pytest.mark.django_db
def test_every_answer_carries_a_policy_without_inline_code(city: City) -> None:
    client = Client()
    for url in ("/", "/cases/new/", "/api/v1/categories", "/open-data/", "/admin/login/"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", url
        assert directives["style-src"] == "'self'", url
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in policy


class _Inline(HTMLParser):
    """Finds what a strict policy blocks: inline scripts, event-handler attributes, style
    attributes and elements, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script":
            data_only = names.get("type", "").lower() in {"application/json", "application/ld+json"}
            self._script = "src" not in names and not data_only
        if tag == "style":
            self.found.append("<style>")
        for name, value in names.items():
            if name.startswith("on") and name.isalpha():
                self.found.append(f"{name}= on <{tag}>")
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = False

    def handle_data(self, data: str) -> None:
        if self._script and data.strip():
            self.found.append("inline <script>")


def test_no_template_has_inline_script_style_or_handlers() -> None:
    templates = [
        p
        for p in (ROOT / "urbangov").rglob("*.html")
        if "templates" in p.parts and "vendor" not in p.parts
    ]
    assert len(templates) > 40
    problems = []
    for path in templates:
        parser = _Inline()
        parser.feed(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(ROOT)}: {what}" for what in parser.found]
    assert problems == []


def test_the_checker_finds_what_it_should() -> None:
    parser = _Inline()
    parser.feed(
        '<script>alert(1)</script><a onclick="x()" href="javascript:void(0)">x</a>'
        '<div style="color:red"></div><style>p{}</style><script src="/a.js"></script>'
        '<script type="application/json">{"a": 1}</script>'
    )
    assert sorted(parser.found) == sorted(
        [
            "inline <script>",
            "onclick= on <a>",
            "javascript: URL on <a>",
            "style= on <div>",
            "<style>",
        ]
    )


# --- sign-in throttling ----------------------------------------------------------------------


def _sign_in(client: Client, url: str, username: str, password: str) -> Any:
    return client.post(url, {"username": username, "password": password})


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_failed_sign_ins_are_throttled(city: City, rate_clock: RateClock, url: str) -> None:
    from django.contrib.auth import get_user_model

    # The admin's sign-in takes Django staff accounts only.
    get_user_model().objects.filter(username__in=["admin", "auditor"]).update(is_staff=True)
    client = Client()
    for _ in range(5):
        assert _sign_in(client, url, "admin", "wrong password").status_code == 200
    # The sixth try is refused before the password is checked — even the right one.
    refused = _sign_in(client, url, "admin", PASSWORD)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert (
        AuditEvent.objects.filter(action="auth.login.throttled", actor_label="admin").count() == 1
    )
    # Another account from the same address is not locked out.
    assert _sign_in(Client(), url, "auditor", PASSWORD).status_code == 302
    # When the window has passed, the account signs in.
    rate_clock.advance(15 * 60)
    assert _sign_in(client, url, "admin", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_one_address_trying_many_accounts_is_throttled(
    city: City, rate_clock: RateClock, settings: Any
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "LOGIN_IP_RATE": "3/h"}
    client = Client()
    for name in ("a", "b", "c"):
        assert _sign_in(client, "/accounts/login/", name, "x").status_code == 200
    assert _sign_in(client, "/accounts/login/", "d", "x").status_code == 429


# --- the second factor -----------------------------------------------------------------------


def totp(secret_b32: str, at: float, digits: int = 6, step: int = 30) -> str:
    """RFC 6238 (HMAC-SHA1), written out from the RFC, sharing nothing with django-otp."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def test_the_reference_totp_matches_rfc_6238() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, 59, digits=8) == "94287082"
    assert totp(secret, 1111111109, digits=8) == "07081804"
    assert totp(secret, 2000000000, digits=8) == "69279037"


@pytest.fixture
def two_factor(settings: Any) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "REQUIRE_2FA": True}


@pytest.mark.django_db
def test_staff_enrol_then_verify_at_every_sign_in(city: City, two_factor: None) -> None:
    client = Client()
    response = _sign_in(client, "/accounts/login/", "operator", PASSWORD)
    assert response.status_code == 302
    # Signed in with the password only: every staff page sends them to enrol first.
    workbench = client.get("/cases/workbench/")
    assert workbench.status_code == 302 and workbench["Location"].startswith("/accounts/2fa/setup/")
    api = client.get("/api/v1/cases")
    assert api.status_code == 403 and "second factor" in api.json()["detail"]

    setup = client.get(workbench["Location"])
    assert setup.status_code == 200
    assert 'src="data:image/svg+xml' in setup.text  # the QR code, drawn on the server
    secret = re.search(r'class="code small">([A-Z2-7 ]+)<', setup.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    wrong = client.post(
        workbench["Location"],
        {"code": "000000" if totp(secret, time.time()) != "000000" else "111111"},
    )
    assert wrong.status_code == 400
    done = client.post(workbench["Location"], {"code": totp(secret, time.time())})
    assert done.status_code == 302 and done["Location"] == "/cases/workbench/"
    assert client.get("/cases/workbench/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.2fa.enrol", actor_label="operator").count() == 1

    # The next sign-in asks for the code.
    client.post("/accounts/logout/")
    _sign_in(client, "/accounts/login/", "operator", PASSWORD)
    ask = client.get("/cases/workbench/")
    assert ask["Location"].startswith("/accounts/2fa/verify/")
    assert client.post(ask["Location"], {"code": "12"}).status_code == 400
    ok = client.post(ask["Location"], {"code": totp(secret, time.time() + 30)})
    assert ok.status_code == 302 and client.get("/cases/workbench/").status_code == 200


@pytest.mark.django_db
def test_residents_tokens_and_non_staff_are_not_asked(city: City, two_factor: None) -> None:
    assert Client().get("/cases/new/").status_code == 200
    token = "ugt_" + "x" * 40
    ApiToken.objects.create(user=city.user("operator"), name="ci", key_hash=hash_token(token))
    api = Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200
    client = Client()
    _sign_in(client, "/accounts/login/", "nobody", PASSWORD)
    assert client.get("/").status_code == 200
    assert client.get("/accounts/2fa/setup/").status_code == 403


@pytest.mark.django_db
def test_code_guessing_is_throttled(city: City, two_factor: None, rate_clock: RateClock) -> None:
    client = Client()
    _sign_in(client, "/accounts/login/", "auditor", PASSWORD)
    url = "/accounts/2fa/setup/"
    client.get(url)
    for _ in range(5):
        assert client.post(url, {"code": "123456"}).status_code in (400, 200)
    assert client.post(url, {"code": "123456"}).status_code == 429
    assert AuditEvent.objects.filter(action="auth.otp.throttled").count() == 1


# --- anonymous public reads ------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_public_reads_are_limited(
    city: City, rate_clock: RateClock, settings: Any
) -> None:
    settings.URBANGOV = {**settings.URBANGOV, "PUBLIC_READ_RATE": "3/m"}
    client = Client()
    for _ in range(3):
        assert client.get("/open311/v2/services.json").status_code == 200
    limited = client.get("/cases/track/ABCDE-FGHJK/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert client.get("/").status_code == 200  # the home page is not counted
    staff = Client()
    staff.force_login(city.user("operator"))
    assert staff.get("/open311/v2/services.json").status_code == 200
    rate_clock.advance(60)
    assert client.get("/open311/v2/services.json").status_code == 200


# --- deployment ------------------------------------------------------------------------------


def test_deploy_check_finds_secure_cookies_and_hsts(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("URBANGOV_", "DEBUG", "SECRET"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "urbangov.settings",
        "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "URBANGOV_DATA_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "city.example",
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W012", "security.W016", "security.W009"):
        assert warning not in output, output
    assert "urbangov.E001" not in output
    assert "urbangov.W001" in output  # encryption key derived from SECRET_KEY: warned


@pytest.mark.django_db
def test_the_admin_never_shows_a_second_factors_secret(city: City) -> None:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=city.user("handler"), name="phone", confirmed=True)
    root = get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()
    # The key and QR pages refuse, for a device that exists and for one that does not (this
    # used to be a server error).
    for pk in (device.pk, device.pk + 1000):
        for view in ("config", "qrcode"):
            r = client.get(f"/admin/otp_totp/totpdevice/{pk}/{view}/")
            assert r.status_code == 403, (pk, view)
            assert device.key not in r.content.decode()
