"""Pillow's side of the decode benchmark: the same files and the same JSON shape as `facegate bench decode`.

decode_ms: Image.open + load (full-size RGB). downscale_ms: full decode then a BOX (area) resize to fit max_side,
the same work as facegate's path without DCT scaling. thumbnail_ms: Pillow's own fast path (Image.thumbnail, which
asks libjpeg for DCT scaling through draft() and then resamples) - the fair rival of facegate's downscaled decode.
"""
import io
import json
import statistics
import sys
import time

import PIL
from PIL import Image


def median_seconds(body, min_runs=5, min_seconds=1.0, warm_up=2):
    for _ in range(warm_up):
        body()
    samples, started = [], time.perf_counter()
    while len(samples) < min_runs or (time.perf_counter() - started < min_seconds and len(samples) < 1000):
        start = time.perf_counter()
        body()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fit(size, max_side):
    w, h = size
    scale = max_side / max(w, h)
    return (max(1, round(w * scale)), max(1, round(h * scale))) if scale < 1 else (w, h)


def main():
    max_side, seconds, files = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    results = []
    for path in files:
        data = open(path, "rb").read()

        def full():
            image = Image.open(io.BytesIO(data))
            image.load()
            return image

        def downscale():
            image = full()
            return image.resize(fit(image.size, max_side), Image.Resampling.BOX)

        def thumbnail():
            image = Image.open(io.BytesIO(data))
            image.thumbnail((max_side, max_side))
            image.load()  # thumbnail() leaves an image that already fits undecoded
            return image

        width, height = Image.open(io.BytesIO(data)).size
        decode = median_seconds(full, min_seconds=seconds)
        results.append({
            "file": path.rsplit("/", 1)[-1], "width": width, "height": height,
            "decode_ms": round(decode * 1000, 3), "megapixels_per_s": round(width * height / 1e6 / decode, 1),
            "downscale_ms": round(median_seconds(downscale, min_seconds=seconds) * 1000, 3),
            "thumbnail_ms": round(median_seconds(thumbnail, min_seconds=seconds) * 1000, 3),
        })
    print(json.dumps({"decoder": f"Pillow {PIL.__version__}", "max_side": max_side, "results": results}))


main()
