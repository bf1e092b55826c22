"""The API: the FastAPI app, its dependencies and its routes."""
