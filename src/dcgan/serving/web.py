"""GET /api/models/{name}/generator.onnx: a model's browser generator (`dcgan.web_export`), for a page that runs
it itself. Included by `dcgan.serving.app.create_app`; 404 for an unknown model or one with no current export.

The answer carries a strong ETag (the file's sha256, from web.json) and `Cache-Control: no-cache`: a browser keeps
the file and revalidates it, getting 304 Not Modified while the export is unchanged, the new file once it is not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import FileResponse, Response

from dcgan.serving.errors import problems
from dcgan.serving.schemas import MARK
from dcgan.serving.studio import Studio
from dcgan.web_export import ONNX_FILE, WEB_DIR, web_export_info

MEDIA_TYPE = "application/octet-stream"
CACHE_CONTROL = "no-cache"  # keep, but ask whether it changed (ETag) before each use


def web_router(studio: Studio) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["browser"])

    @router.get(
        f"/models/{{name}}/{ONNX_FILE}",
        response_class=FileResponse,
        responses={200: {"content": {MEDIA_TYPE: {}}}, 304: {"description": "unchanged"}, **problems(404)},
    )
    async def web_generator(
        name: Annotated[str, Path(description="a loaded model", json_schema_extra={MARK: "name"})], request: Request
    ) -> Response:
        """The model's generator as ONNX (z [N, z_dim] float32 → image [N, H, W, C] float32 in [-1, 1])."""
        name, model = studio.model(name)
        info = web_export_info(model.model_dir)
        if info is None:
            raise HTTPException(404, f"model {name!r} has no current browser export (dcgan export-web MODEL_DIR)")
        etag = f'"{info["sha256"]}"'
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
        if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        return FileResponse(
            model.model_dir / WEB_DIR / info["file"], media_type=MEDIA_TYPE, headers=headers, filename=ONNX_FILE
        )

    return router
