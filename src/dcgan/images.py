"""Small image helpers shared by training, sampling and serving."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from dcgan.atomic import atomic_path


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Map tanh outputs in [-1, 1] to uint8 [0, 255]."""
    return np.clip(np.rint((np.asarray(images, dtype=np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


RESAMPLE = {"nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}


def enlarge(image: np.ndarray, scale: int, resample: str = "lanczos") -> Image.Image:
    """One uint8 H×W×C image as a PIL image `scale` times larger (`resample`: a key of RESAMPLE)."""
    pil = to_pil(image)
    return pil if scale == 1 else pil.resize((pil.width * scale, pil.height * scale), RESAMPLE[resample])


def upscale(images: np.ndarray, scale: int) -> np.ndarray:
    """Uint8 N×H×W×C images enlarged `scale` times with Lanczos, as a person looks at faces closely."""
    if scale == 1:
        return images
    n, h, w, c = images.shape
    return np.stack([np.asarray(enlarge(image, scale)) for image in images]).reshape(n, h * scale, w * scale, c)


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 N×H×W×C images into one picture with `pad` pixels of black between them."""
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for i, image in enumerate(images):
        r, q = divmod(i, cols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + q * (w + pad) : pad + q * (w + pad) + w] = image
    return grid


def save_png(image: np.ndarray, path: Path) -> Path:
    """Save atomically (`dcgan.atomic`) so a reader never sees half an image."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        to_pil(image).save(tmp, format="PNG")
    return path


def png_bytes(image: np.ndarray, scale: int = 1, resample: str = "nearest") -> bytes:
    """One uint8 H×W×C image as PNG bytes, `scale` times larger (`resample`: a key of RESAMPLE)."""
    buffer = io.BytesIO()
    enlarge(image, scale, resample).save(buffer, format="PNG")
    return buffer.getvalue()
