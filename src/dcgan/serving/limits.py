"""The server's limits on requests: how many z, how large a body or an upload, how large an image."""

from __future__ import annotations

from dcgan.photos import MAX_PHOTO_BYTES

MAX_BATCH = 64
MAX_BODY_BYTES = 1_000_000
MAX_SIDE = 512
MAX_UPLOAD_BYTES = MAX_PHOTO_BYTES + 64 * 1024  # POST /api/invert: the photo and the form around it
