"""The API's documentation: Swagger UI served from the installed `swagger-ui-bundle` package (no
page loads a script from another host), and, in production, the page and the OpenAPI document
only for a logged-in caller (bearer token or dashboard session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from swagger_ui_bundle import swagger_ui_path

from xietong.api.deps import get_principal

DOCS_URL, OPENAPI_URL, ASSETS = "/api/docs", "/api/openapi.json", "/api/docs/assets"
_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def install_docs(app: FastAPI, *, behind_login: bool) -> None:
    """Serve `/api/docs` and `/api/openapi.json` (the app is built with both turned off)."""
    guard: list[Any] = [Depends(get_principal)] if behind_login else []

    @app.get(OPENAPI_URL, include_in_schema=False, dependencies=guard)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get(DOCS_URL, include_in_schema=False, dependencies=guard)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    @app.get(f"{ASSETS}/{{name}}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        # Only the three files named above; nothing is joined from the path unchecked.
        if name not in _ASSET_TYPES:
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(
            Path(swagger_ui_path) / name,
            media_type=_ASSET_TYPES[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )
