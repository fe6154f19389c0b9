"""face_recognition's side of the pipeline comparison: the same photo list as `facegate bench pipeline`, at
face_recognition's defaults (load_image_file, face_locations with HOG and upsample 1, face_encodings of every face
found with the 5-point model and one jitter), on N worker processes. Prints the same JSON shape as facegate.

Usage: face_recognition_bench.py ROOT LIST [--workers N] [--rounds R]
Pin the process with taskset to as many cores as workers; set OPENBLAS_NUM_THREADS as for facegate.
"""
import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

import face_recognition


def process(path):
    """One photo through face_recognition's pipeline, each stage timed (seconds)."""
    started = time.perf_counter()
    image = face_recognition.load_image_file(path)
    decoded = time.perf_counter()
    locations = face_recognition.face_locations(image)  # model="hog", number_of_times_to_upsample=1
    located = time.perf_counter()
    face_recognition.face_encodings(image, known_face_locations=locations)  # model="small", num_jitters=1
    encoded = time.perf_counter()
    boxes = [[left, top, right - left, bottom - top] for (top, right, bottom, left) in locations]
    boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
    return {
        "width": int(image.shape[1]), "height": int(image.shape[0]), "boxes": boxes,
        "decode": decoded - started, "detect": located - decoded, "encode": encoded - located,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("list")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with open(args.list) as f:
        files = [line.strip() for line in f if line.strip()]
    paths = [os.path.join(args.root, name) for name in files]

    rates, runs = [], [[] for _ in paths]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        pool.map(process, paths[: args.workers * 2], chunksize=1)  # warm-up: models paged in, allocator primed
        for _ in range(args.rounds):
            started = time.perf_counter()
            results = pool.map(process, paths, chunksize=1)
            rates.append(len(paths) / (time.perf_counter() - started))
            for i, result in enumerate(results):
                runs[i].append(result)

    def ms(values):
        return round(statistics.median(values) * 1000, 3)

    per_photo = []
    for name, photo_runs in zip(files, runs):
        first = photo_runs[0]
        per_photo.append({
            "file": name, "width": first["width"], "height": first["height"], "boxes": first["boxes"],
            "decode_ms": ms([r["decode"] for r in photo_runs]), "detect_ms": ms([r["detect"] for r in photo_runs]),
            "encode_ms": ms([r["encode"] for r in photo_runs]),
            "total_ms": ms([r["decode"] + r["detect"] + r["encode"] for r in photo_runs]),
        })
    everything = [r for photo_runs in runs for r in photo_runs]
    rate = statistics.median(rates)
    print(f"{len(paths)} photos, {args.workers} worker(s): {rate:.2f} photos/s", file=sys.stderr)
    print(json.dumps({
        "tool": "face_recognition", "version": face_recognition.__version__, "workers": args.workers,
        "photos": len(paths), "photos_per_s": round(rate, 3), "rounds_photos_per_s": [round(r, 3) for r in rates],
        "stage_median_ms": {
            "decode_ms": ms([r["decode"] for r in everything]), "detect_ms": ms([r["detect"] for r in everything]),
            "encode_ms": ms([r["encode"] for r in everything]),
            "total_ms": ms([r["decode"] + r["detect"] + r["encode"] for r in everything]),
        },
        "per_photo": per_photo, "faces_found": sum(len(p["boxes"]) for p in per_photo),
        "settings": {"detector": "hog", "upsample": 1, "landmarks": "5-point", "num_jitters": 1,
                     "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset")},
    }, sort_keys=True))


if __name__ == "__main__":
    main()
