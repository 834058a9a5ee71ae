"""The HTTP API: one FastAPI application assembling each domain's router."""
