"""How computed values become what a summary holds: a histogram's buckets (TensorFlow's default limits, runs of
empty buckets merged as it encodes them), and an image's pixels (TensorFlow's rule for floats) encoded as PNG."""

from __future__ import annotations

import numpy as np


def _default_limits() -> np.ndarray:
    """TensorFlow's default bucket limits: ±1e-12 growing by 10% up to ±1e20, then ±DBL_MAX, and 0."""
    positive, v = [], 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    positive.append(np.finfo(np.float64).max)
    return np.array([-p for p in reversed(positive)] + [0.0] + positive)


_LIMITS = _default_limits()


def _buckets(values: np.ndarray) -> tuple[list[float], list[float]]:
    """Bucket right edges and counts; a run of empty buckets becomes one, as TensorFlow encodes histograms."""
    counts = np.bincount(np.searchsorted(_LIMITS, values, side="right"), minlength=len(_LIMITS))[: len(_LIMITS)]
    limits_out: list[float] = []
    counts_out: list[float] = []
    for limit, count in zip(_LIMITS.tolist(), counts.tolist()):
        if count == 0 and counts_out and counts_out[-1] == 0:
            limits_out[-1] = limit  # extend the run of empty buckets
        else:
            limits_out.append(limit)
            counts_out.append(float(count))
    return limits_out, counts_out


def _normalized_image(image: np.ndarray) -> np.ndarray:
    """One float image as uint8, by TensorFlow's documented rule: all values non-negative, the largest becomes 255;
    any negative, 0 goes to the middle (128) and the largest magnitude to an end. NaN and infinities become red."""
    finite = np.isfinite(image)
    values = image[finite]
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low < 0:
        largest = max(-low, high)
        scale, offset = (127.0 / largest if largest > 1e-6 else 0.0), 128.0
    else:
        scale, offset = (255.0 / high if high > 1e-6 else 0.0), 0.0
    pixels = np.clip(np.where(finite, image, 0.0) * scale + offset, 0, 255).astype(np.uint8)
    bad = ~finite.all(axis=-1)
    pixels[bad] = np.array([255, 0, 0, 255][:image.shape[-1]] if image.shape[-1] >= 3 else [255], dtype=np.uint8)
    return pixels


def _png(pixels: np.ndarray) -> bytes:
    """``pixels`` (height x width x 1, 3 or 4 channels of uint8) as a PNG file, encoded by Pillow."""
    import io

    from PIL import Image

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[-1]]
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()
