"""`featurestore serve`: the online lookup over HTTP (FastAPI), with an OpenAPI schema at /docs.

Hostile input gets a 4xx, never a 500: request bodies are capped (413), and validation errors (422) name the
field at fault with a short excerpt of the input, never the whole input. /docs is Swagger UI served from the
swagger-ui-bundle package, so it works without internet.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from swagger_ui_bundle import swagger_ui_path

from featurestore import __version__
from featurestore.core.errors import (
    EntityKeyError,
    FeatureGroupNotOnlineError,
    FeatureStoreError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from featurestore.core.identifiers import excerpt, shorten
from featurestore.core.value_codec import to_public_json
from featurestore.online.serving import ValueStatus
from featurestore.store import FeatureStore

# 1000 entities (the most one request may ask for) with long keys fit in well under a MiB.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Validation errors reported per response, and characters of the input quoted in each.
_MAX_ERRORS = 10
_EXCERPT_CHARS = 60

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class OnlineFeaturesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: list[StrictStr] = Field(
        min_length=1, description="Feature references `<group>:<feature>`.", examples=[["user_engagement:clicks_7d"]]
    )
    entities: list[dict[str, StrictInt | StrictStr]] = Field(
        min_length=1,
        max_length=1000,
        description="One mapping per entity with the entity columns of every requested group.",
        examples=[[{"user_id": 7}]],
    )


class EntityResult(BaseModel):
    values: dict[str, Any] = Field(
        description="Each requested feature's value; null when not PRESENT. JSON has no NaN or infinities: "
        'such a float is the string "NaN", "Infinity" or "-Infinity".'
    )
    statuses: list[ValueStatus] = Field(description="Each value's status, in the order of `features`.")


class OnlineFeaturesResponse(BaseModel):
    features: list[str]
    results: list[EntityResult] = Field(description="One result per requested entity, in request order.")


class ErrorResponse(BaseModel):
    detail: str


_STATUS_OF_ERROR: list[tuple[type[FeatureStoreError], int]] = [
    (UnknownFeatureGroupError, 404),
    (UnknownFeatureError, 404),
    (FeatureGroupNotOnlineError, 409),
    (EntityKeyError, 400),
]


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = JSONResponse({"detail": detail}).body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses (413) a request whose body is larger than `limit` bytes, declared or streamed, before the app
    reads it; the accepted body is handed on whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reply(send, 400, "the Content-Length header is not a number")
                return
            if int(declared) > self.limit:
                await _reply(send, 413, f"the request body is larger than {self.limit:,} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _reply(send, 413, f"the request body is larger than {self.limit:,} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


class BearerToken:
    """Answers 401 to any request but /health without `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") != "/health":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                await _reply(send, 401, "missing or wrong bearer token", headers=[(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


def validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """The errors of a 422 without the input they were raised on: the field, what is wrong, and a short
    excerpt of the offending value (a 200 MB body must not come back, and NaN has no JSON)."""
    found = list(error.errors())
    reported = []
    for item in found[:_MAX_ERRORS]:
        entry: dict[str, Any] = {
            "loc": [part if isinstance(part, int) else shorten(str(part), _EXCERPT_CHARS) for part in item["loc"]],
            "msg": shorten(str(item.get("msg", "")), 200),
            "type": str(item.get("type", "")),
        }
        if "input" in item:
            entry["input"] = excerpt(item["input"], _EXCERPT_CHARS)
        reported.append(entry)
    if len(found) > _MAX_ERRORS:
        reported.append({"loc": [], "msg": f"and {len(found) - _MAX_ERRORS} more error(s)", "type": "truncated"})
    return reported


def create_app(
    store: FeatureStore, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, token: str | None = None
) -> FastAPI:
    """The app serving `store`; the caller owns the store and closes it. Request bodies over `max_body_bytes`
    get a 413; with `token`, every request but /health needs `Authorization: Bearer <token>`."""
    app = FastAPI(
        title="featurestore online features",
        version=__version__,
        description="Latest feature values of the online feature groups of a dbt-native feature store.",
        docs_url=None,  # served below from local assets, not a CDN
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    if token:
        app.add_middleware(BearerToken, token=token)
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return JSONResponse(status_code=422, content={"detail": validation_errors(error)})

    @app.exception_handler(FeatureStoreError)
    async def feature_store_error(_: Request, error: Exception) -> JSONResponse:
        status = next((code for kind, code in _STATUS_OF_ERROR if isinstance(error, kind)), 500)
        return JSONResponse(status_code=status, content={"detail": shorten(str(error), 2000)})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/feature-groups")
    def feature_groups() -> list[dict[str, Any]]:
        return [
            {"name": g.name, "entity": list(g.entity), "features": list(g.feature_names), "ttl": g.ttl_text}
            for g in store.catalog
            if g.online
        ]

    @app.post(
        "/online-features",
        response_model=OnlineFeaturesResponse,
        responses={400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
    )
    def online_features(request: OnlineFeaturesRequest) -> OnlineFeaturesResponse:
        """The latest values of `features` for each of `entities`, in request order."""
        result = store.get_online_features(request.features, request.entities)
        return OnlineFeaturesResponse(
            features=list(result.features),
            results=[
                EntityResult(
                    values={name: to_public_json(value) for name, value in zip(result.features, values, strict=True)},
                    statuses=list(statuses),
                )
                for values, statuses in zip(result.values, result.statuses, strict=True)
            ],
        )

    return app
