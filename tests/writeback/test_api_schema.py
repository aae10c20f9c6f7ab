"""The OpenAPI description keeps in step with the API's routes."""

import json
import re

from django.urls import get_resolver

from inbox.api.schema import openapi_document
from writeback.models import OutboxState

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _described_path(route: str) -> str:
    """Django's ``threads/<int:pk>`` as OpenAPI's ``/threads/{pk}``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _served_routes() -> list:
    """Every route in the ``api`` namespace: the inbox's and the writeback's (*Retry*)."""
    _prefix, api = get_resolver().namespace_dict["api"]
    return api.url_patterns


def test_every_route_and_method_is_described():
    document = openapi_document(server_url="http://testserver/api/v1")
    routes = {
        _described_path(str(pattern.pattern)): {m.lower() for m in pattern.callback.methods}
        for pattern in _served_routes()
        # The JSON 404 for everything else is not an endpoint.
        if hasattr(pattern.callback, "methods")
    }
    described = {path: set(item) & HTTP_METHODS for path, item in document["paths"].items()}
    assert routes == described
    assert routes["/messages/{pk}/retry"] == routes["/notes/{pk}/retry"] == {"post"}


def test_the_delivery_states_are_the_outboxs():
    schemas = openapi_document(server_url="http://testserver/api/v1")["components"]["schemas"]
    assert schemas["Delivery"]["properties"]["state"]["enum"] == list(OutboxState.values)


def test_every_reference_resolves():
    document = openapi_document(server_url="http://testserver/api/v1")
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(document)))
    assert refs and refs <= set(schemas)


def test_the_served_document_names_this_server(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["servers"] == [{"url": "http://testserver/api/v1"}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_error_code_the_api_answers_is_described():
    """Each ``ApiError(status, "code", ...)`` in the API's code is in the document's Error enum."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("inbox/api/*.py"), root / "writeback/api_views.py"]
    used = {
        code
        for path in sources
        for code in re.findall(r'ApiError\(\s*\d+,\s*"([a-z_]+)"', path.read_text())
    }
    described = openapi_document(server_url="http://testserver/api/v1")["components"]["schemas"][
        "Error"
    ]["properties"]["error"]["properties"]["code"]["enum"]
    assert used and used <= set(described), used - set(described)
