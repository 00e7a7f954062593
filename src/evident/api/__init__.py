"""The REST API: FastAPI routers over the App's service functions."""

from evident.api.main import create_api

__all__ = ["create_api"]
