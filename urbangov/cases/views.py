from django.http import HttpRequest, HttpResponse


def submit(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def track(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def workbench(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
