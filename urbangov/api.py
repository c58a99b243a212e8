"""The REST API (django-ninja) under /api/v1/: each app contributes its router."""

from ninja import NinjaAPI

from urbangov.cases.api import router as cases_router
from urbangov.org.api import router as org_router

api = NinjaAPI(
    title="urbangov API",
    version="1",
    description=(
        "Residents' requests, categories and the city's organisation. Staff and integrations "
        "authenticate with `Authorization: Bearer <token>`; residents may create cases without "
        "authentication (rate-limited)."
    ),
    urls_namespace="api",
)
api.add_router("/", cases_router)
api.add_router("/", org_router)
