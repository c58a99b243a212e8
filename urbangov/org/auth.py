"""How API callers prove who they are.

Staff and integrations send ``Authorization: Bearer <token>`` (an :class:`ApiToken`, of which
only the SHA-256 hash is stored). The staff pages' own scripts use the Django session, with a
CSRF check on every unsafe method. Being authenticated is not being staff: staff are users
with a membership in a unit (:func:`urbangov.org.queries.is_staff_member`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from urbangov.org.models import ApiToken, hash_token
from urbangov.org.queries import is_staff_member

# last_used_at is written at most this often per token, so that a busy integration does not
# turn every request into a write on the same row.
TOUCH_EVERY = timedelta(minutes=1)
# Longer than any key ApiToken.new_key() makes; anything longer is not worth hashing.
_MAX_KEY = 200


def user_for_token(key: str) -> User | None:
    """The active user who holds the unrevoked token ``key``, or None. One indexed query."""
    if not key or len(key) > _MAX_KEY:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(key), revoked=False)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        # Bookkeeping for the admin ("is this integration still in use?"), not a change of
        # state anyone acts on, so no action and no audit event. Conditional, so that two
        # workers racing on the same token write once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
        ).update(last_used_at=now)
    return token.user


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; a token that is wrong or revoked is refused outright
    (401), never treated as no token at all."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = user_for_token(token.strip())
        if user is None:
            raise AuthenticationError(401, _("The API token is not valid or has been revoked."))
        request.user = user
        return user


class SessionCookie(APIKeyCookie):
    """The Django session of a signed-in user, for the staff pages' own calls.

    Unlike ninja's ``django_auth``, the CSRF check runs only once a signed-in user is found,
    so that a caller with no session at all is told to authenticate (401) rather than that
    a CSRF token is missing (403).
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        if self.csrf and not exempt and check_csrf(request) is not None:
            raise HttpError(
                403,
                _(
                    "CSRF check failed: send the value of the csrftoken cookie in the "
                    "X-CSRFToken header."
                ),
            )
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return self(request)


bearer_token = BearerToken()
session_cookie = SessionCookie(csrf=True)
# What staff endpoints accept, in the order tried.
STAFF_AUTH = [bearer_token, session_cookie]


def optional_user(request: HttpRequest) -> User | None:
    """The caller of an endpoint open to anyone: a token or session user, or None.

    A token that is sent but wrong is still a 401: a client that meant to authenticate
    must hear that it did not.
    """
    header = request.headers.get("Authorization")
    if header:
        scheme, _sep, key = header.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationError(
                401, _("Send the API token as 'Authorization: Bearer <token>'.")
            )
        return bearer_token.authenticate(request, key)
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        user = session_cookie(request)
        if user is not None:
            return user
    return None


def staff_user(request: HttpRequest) -> User:
    """The authenticated caller, who must hold a staff role (403 otherwise)."""
    user = getattr(request, "auth", None)
    if user is None:
        raise AuthenticationError()
    if not is_staff_member(user):
        raise HttpError(403, _("This account holds no staff role in any unit."))
    return user
