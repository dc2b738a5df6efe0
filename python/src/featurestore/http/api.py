"""`featurestore serve`: the online lookup over HTTP (FastAPI), with an OpenAPI schema at /docs."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from featurestore import __version__
from featurestore.core.errors import (
    EntityKeyError,
    FeatureGroupNotOnlineError,
    FeatureStoreError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from featurestore.online.serving import ValueStatus
from featurestore.store import FeatureStore


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
    values: dict[str, Any] = Field(description="Each requested feature's value; null when not PRESENT.")
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


def create_app(store: FeatureStore) -> FastAPI:
    """The app serving `store`; the caller owns the store and closes it."""
    app = FastAPI(
        title="featurestore online features",
        version=__version__,
        description="Latest feature values of the online feature groups of a dbt-native feature store.",
    )

    @app.exception_handler(FeatureStoreError)
    async def feature_store_error(_: Request, error: Exception) -> JSONResponse:
        status = next((code for kind, code in _STATUS_OF_ERROR if isinstance(error, kind)), 500)
        return JSONResponse(status_code=status, content={"detail": str(error)})

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
                EntityResult(values=dict(zip(result.features, values, strict=True)), statuses=list(statuses))
                for values, statuses in zip(result.values, result.statuses, strict=True)
            ],
        )

    return app
