"""The API's OpenAPI document: BentoML's generated one, completed with what a client needs to know.

BentoML describes its endpoints and the mounted FastAPI routes but knows nothing of the access gate,
and titles the document with the service's name and version "None". Here it gets the package version,
a description, a tag per endpoint group, the key scheme (``X-API-Key`` or a bearer token) on every
endpoint that needs one, and every error answer in the one shape (``ErrorBody``, with examples), as
``serving.endpoints`` says each path behaves. Schemathesis checks the service against this document.
"""

from __future__ import annotations

from copy import deepcopy
from http import HTTPStatus
from typing import Any

from alphapulse import __version__
from alphapulse.serving.endpoints import ENDPOINTS, KEY_HEADER
from alphapulse.serving.errors import code_of
from alphapulse.serving.schemas import ErrorBody

TITLE = "AlphaPulse signals API"
DESCRIPTION = f"""Trading signals for crypto instruments from AlphaPulse's champion models.

Every endpoint but the probes needs an API key, sent as `{KEY_HEADER}: <key>` or
`Authorization: Bearer <key>`; a key carries scopes (`signal`, `predict`, `sentiment`, `models`,
`admin`) and rate limits (429 with `Retry-After` beyond them). Money is exact: prices travel as
decimal strings, never floats. Every error, whatever refused the request, has one shape: `{{"error":
code, "message": text, "field": JSON path or absent, "detail": facts of a 503 or absent}}`."""

TAGS = [
    {"name": "signals", "description": "Answers of the champion models (scope `signal` or `predict`)."},
    {
        "name": "sentiment",
        "description": "Headline sentiment, every configured scorer side by side (scope `sentiment`).",
    },
    {"name": "models", "description": "What is served and how it has done live (scope `models`)."},
    {"name": "admin", "description": "Operator actions (scope `admin`)."},
    {"name": "infrastructure", "description": "Probes, metrics and this document; no key needed."},
]
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
    "Bearer": {"type": "http", "scheme": "bearer", "description": "The same key as a bearer token."},
}
_REF = "#/components/schemas/"

#: Error statuses every keyed endpoint may answer, and why.
_KEYED_ERRORS: dict[int, str] = {
    HTTPStatus.UNAUTHORIZED: "No key, or one that is unknown, revoked or malformed.",
    HTTPStatus.FORBIDDEN: "The key lacks the endpoint's scope.",
    HTTPStatus.TOO_MANY_REQUESTS: "A rate limit or quota of the key is used up, the address failed to "
    "authenticate too often, or (/predict, /sentiment) every compute slot stayed busy; see Retry-After.",
}
_BODY_ERRORS: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: "The body does not match the schema (field: the first culprit).",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The body is larger than the endpoint accepts.",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "The body is not JSON.",
}


def document(generated: dict[str, Any]) -> dict[str, Any]:
    spec = deepcopy(generated)
    spec["info"] = {"title": TITLE, "version": __version__, "description": DESCRIPTION}
    spec["tags"] = TAGS
    components = spec.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template=_REF + "{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    paths = spec.get("paths", {})
    for path in list(paths):
        if path not in ENDPOINTS:
            del paths[path]
    for path, endpoint in ENDPOINTS.items():
        for operation in paths.get(path, {}).values():
            if not isinstance(operation, dict):
                continue
            operation["tags"] = [endpoint.tag]
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True  # BentoML leaves it optional; no endpoint is
            responses = operation.setdefault("responses", {})
            described = {
                status: response.get("description", "")
                for status, response in responses.items()
                if str(status)[0] in "45"
            }
            for status in described:
                del responses[status]
            errors = {int(status): text for status, text in described.items()}
            if endpoint.scope is not None:
                operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
                errors |= _KEYED_ERRORS
                if endpoint.max_body:
                    errors |= _BODY_ERRORS
            for status, text in sorted(errors.items()):
                responses[str(status)] = _error_response(status, text)
            responses["default"] = _error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Any other error.")
    return spec


def _error_response(status: int, description: str) -> dict[str, Any]:
    example = {"error": code_of(status), "message": HTTPStatus(status).phrase}
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": {"$ref": f"{_REF}ErrorBody"}, "example": example}},
    }
