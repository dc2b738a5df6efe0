"""The HTTP API (FastAPI) over a FeatureStore's online lookups: `featurestore serve`."""

from featurestore.http.api import create_app

__all__ = ["create_app"]
