"""The HTTP API of photo inversion (`dcgan.inversion`): `POST /api/invert`, a photo in, its z out, streamed.

The upload is read and parsed in memory (python-multipart with no spill to disk), decoded, and the face found and
aligned before the answer starts, so every bad photo gets a 4xx with a reason. The answer is NDJSON: the faces
found with the aligned crop, the solver's progress, then z, the face and the scores. Nothing of the photo is
written to disk or to the logs; it is dropped as soon as its aligned crop exists. Photos are inverted one at a
time on their own thread (painting stays responsive); at most `MAX_WAITING` wait, more get a 429.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from python_multipart.multipart import FormParser, parse_options_header

from dcgan.errors import DcganError
from dcgan.photos import PhotoError, align_face, read_photo
from dcgan.serving.errors import problems
from dcgan.serving.limits import MAX_UPLOAD_BYTES
from dcgan.serving.studio import Studio

MAX_WAITING = 4
FIELDS = {"photo", "model", "face"}
STATUS = {"too_large": 413, "not_an_image": 415, "truncated": 415, "too_many_pixels": 413}  # other reasons: 422

FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["photo"],
                "properties": {
                    "photo": {
                        "type": "string",
                        "format": "binary",
                        "minLength": 1,
                        "description": "JPEG, PNG, WebP, GIF, HEIC",
                    },
                    "model": {"type": "string", "description": "a loaded model (default: the first)"},
                    "face": {"type": "integer", "minimum": 0, "description": "which face, largest first (default 0)"},
                },
            }
        }
    },
}
STREAM = {
    200: {
        "description": "NDJSON lines: faces (found faces, chosen, crop), progress (step, steps), then done (z, "
        "image, crop, scores, seconds) or error (detail)",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


def parse_form(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, every value (files too) kept in memory; ValueError if malformed."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise ValueError("send the photo as multipart/form-data (with a boundary) in a field named 'photo'")
    fields: dict[str, bytes] = {}

    def keep(part: Any) -> None:
        name = (part.field_name or b"").decode("utf-8", "replace")
        if name in FIELDS:
            if hasattr(part, "file_object"):
                part.file_object.seek(0)
                fields[name] = part.file_object.read()
            else:
                fields[name] = part.value or b""

    config = {"MAX_MEMORY_FILE_SIZE": float("inf"), "MAX_BODY_SIZE": MAX_UPLOAD_BYTES}
    parser = FormParser("multipart/form-data", keep, keep, boundary=params[b"boundary"], config=config)
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # python-multipart's errors (bad boundary, headers, encodings) name no common base
        raise ValueError(f"unreadable multipart form: {exc}") from None
    return fields


def form_text(fields: dict[str, bytes], name: str) -> str | None:
    if name not in fields:
        return None
    try:
        return fields[name].decode("utf-8").strip()
    except UnicodeDecodeError:
        raise HTTPException(422, f"form field {name!r} is not UTF-8 text") from None


def photo_router(studio: Studio, data_url: Callable[[np.ndarray], str]) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["photos"])
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="photos")
    waiting = 0

    @router.post(
        "/invert",
        openapi_extra={"requestBody": FORM},
        responses=STREAM | problems(400, 404, 411, 413, 415, 422, 429, 503),
        response_class=StreamingResponse,
    )
    async def invert(request: Request) -> StreamingResponse:
        """A photo → the aligned face, then z whose face looks most like it (streamed as NDJSON lines)."""
        nonlocal waiting
        try:
            fields = parse_form(request.headers.get("content-type", ""), await request.body())
        except ValueError as exc:
            raise HTTPException(415 if "multipart/form-data" in str(exc) else 400, str(exc)) from None
        if not fields.get("photo"):
            raise HTTPException(422, "the form has no (or an empty) file field named 'photo'")
        face = form_text(fields, "face")
        if face is not None and not (face.isdigit() and int(face) < 1000):
            raise HTTPException(422, f"face must be a whole number from 0 (the largest face), got {face[:20]!r}")
        name, model = studio.model(form_text(fields, "model") or None)
        try:
            inverter = model.inverter
        except DcganError as exc:
            raise HTTPException(404, str(exc)) from None
        if waiting >= MAX_WAITING:
            raise HTTPException(429, f"{waiting} photos are waiting; try again in a few seconds")
        loop = asyncio.get_running_loop()

        def find(photo: bytes) -> tuple[Any, list[int]]:
            image = read_photo(photo)
            size = [int(image.shape[1]), int(image.shape[0])]
            return align_face(image, model.image_shape[0], None if face is None else int(face)), size

        waiting += 1
        try:
            aligned, size = await loop.run_in_executor(executor, find, fields.pop("photo"))
        except BaseException as exc:
            waiting -= 1
            if isinstance(exc, PhotoError):
                raise HTTPException(STATUS.get(exc.reason, 422), str(exc)) from None
            if isinstance(exc, DcganError):  # this install cannot find faces (no MTCNN)
                raise HTTPException(503, str(exc)) from None
            raise
        fields.clear()  # from here on only the aligned crop of the photo exists
        events: asyncio.Queue[dict | None] = asyncio.Queue()

        def progress(done: int, steps: int) -> None:
            loop.call_soon_threadsafe(events.put_nowait, {"event": "progress", "step": done, "steps": steps})

        def finished(_job: asyncio.Future) -> None:
            nonlocal waiting
            waiting -= 1
            events.put_nowait(None)

        job = loop.run_in_executor(executor, lambda: inverter.invert(aligned.image[None], None, progress))
        job.add_done_callback(finished)  # the job runs to its end even if the client leaves: the count stays true
        crop = data_url(aligned.image)

        async def stream() -> AsyncIterator[bytes]:
            yield line(
                {"event": "faces", "faces": aligned.faces, "chosen": aligned.index, "crop": crop, "photo_size": size}
            )
            while (event := await events.get()) is not None:
                yield line(event)
            try:
                result = job.result()
            except DcganError as exc:
                yield line({"event": "error", "detail": str(exc)})
                return
            scores = {k: round(float(v[0]), 4) for k, v in result.scores.items()}
            found = {"z": result.z[0].tolist(), "image": data_url(result.faces[0]), "crop": crop, "scores": scores}
            yield line({"event": "done", "model": name, **found, "seconds": round(result.seconds, 3)})

        return StreamingResponse(stream(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})

    return router


def line(event: dict) -> bytes:
    return (json.dumps(event) + "\n").encode()
