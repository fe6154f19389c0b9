"""Writes the decode benchmark's JPEGs from real photos in shared/faces (never committed; made on each run).

640x480 and 1920x1080 are resized down from real photos; 4000x3000 is the largest real photo available
(compreface/noface/NoFace-img1.jpg, 4608x1924) cropped to 4:3 and scaled up, since no 12 MP photo is shipped.
All are baseline 4:2:0 JPEGs at quality 90, as phone and webcam pipelines write them.
"""
import sys
from pathlib import Path

from PIL import Image

faces, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)


def cover(image, width, height):
    """Crop to the target aspect ratio around the centre, then resize (Lanczos)."""
    ratio = width / height
    w, h = image.size
    if w / h > ratio:
        crop_w = int(h * ratio)
        box = ((w - crop_w) // 2, 0, (w - crop_w) // 2 + crop_w, h)
    else:
        crop_h = int(w / ratio)
        box = (0, (h - crop_h) // 2, w, (h - crop_h) // 2 + crop_h)
    return image.crop(box).resize((width, height), Image.Resampling.LANCZOS)


jobs = [
    ("face_recognition/multi/obama_and_biden.jpg", 640, 480),
    ("compreface/noface/NoFace-img1.jpg", 1920, 1080),
    ("compreface/noface/NoFace-img1.jpg", 4000, 3000),
]
for source, width, height in jobs:
    image = Image.open(faces / source).convert("RGB")
    target = out / f"photo_{width}x{height}.jpg"
    cover(image, width, height).save(target, quality=90, subsampling="4:2:0", optimize=False, progressive=False)
    print(target)
