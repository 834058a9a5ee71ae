"""The last route of all: an address nothing else answers. A person's browser gets the error
page in the frame, in its language, with the way on; an API client (or anything under `/api`,
which never reaches here) keeps the JSON error."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from xietong.api.deps import SessionDep
from xietong.core.errors import NotFound
from xietong.web.pages.common import error_page
from xietong.web.session import ViewerDep


class PageAddress(Convertor[str]):
    """Any path outside `/api`: the API's unknown addresses stay the API's own 404."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("page", PageAddress())

router = APIRouter(include_in_schema=False)


@router.api_route("/{address:page}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def no_such_page(
    request: Request, viewer: ViewerDep, session: SessionDep, address: str
) -> Response:
    if "text/html" not in request.headers.get("accept", ""):
        body = {"error": {"code": "not_found", "message": "Not Found"}}
        return JSONResponse(body, status_code=404)
    return error_page(viewer, session, NotFound(f"no page at /{address}"))
