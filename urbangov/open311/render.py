"""Answers in the two formats GeoReport v2 speaks, and its error list.

JSON is the data as it is. XML follows the spec's documents: a list becomes an element named
for the list holding one element per item, named for the item (``<services><service>…``),
``true``/``false`` for booleans and an empty element for a missing value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpResponse

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}

# The element each list's items are written as.
ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
}

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: Element, tag: str, value: Any) -> None:
    element = SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(element, ITEM_TAGS[tag], item)
    else:
        element.text = _text(value)


def to_xml(root: str, data: dict[str, Any] | list[Any]) -> bytes:
    element = Element(root)
    if isinstance(data, dict):
        for key, item in data.items():
            _append(element, key, item)
    else:
        for item in data:
            _append(element, ITEM_TAGS[root], item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(
        element, encoding="utf-8", xml_declaration=False
    )


def render(
    fmt: str, root: str, data: dict[str, Any] | list[Any], status: int = 200
) -> HttpResponse:
    """``data`` as JSON, or as XML under the element ``root``."""
    if fmt == "xml":
        body = to_xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(
        body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["json"])
    )


def errors(fmt: str, status: int, messages: Iterable[str]) -> HttpResponse:
    """The spec's error list: ``[{"code": 400, "description": "…"}, …]``."""
    items = [{"code": status, "description": str(m)} for m in messages]
    return render(fmt, "errors", items, status=status)
