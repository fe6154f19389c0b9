"""The throughput benchmark of benchmarks/README.md: the pipeline side by side with face_recognition, the search,
the HTTP service under load and its memory, written as results JSON, a Markdown table and PNG plots.

Run through `benchmarks/run throughput` (set-up, release build, database); `--smoke` runs every step at tiny sizes
into a scratch folder (scripts/test does, so the benchmark cannot rot). Environment it expects (benchmarks/run sets
it): FACEGATE_BIN, FACES (the shared photos), PEER_PYTHON (the venv with face_recognition), PG_SCRIPT (scripts/pg),
MODELS_DIR, OPENBLAS_NUM_THREADS.
"""
import argparse
import csv
import datetime
import functools
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "Tests", "system"))
import facegate_service  # noqa: E402  (the service driver the system tests use)
from facegate_service import free_port  # noqa: E402
UNLABELLED = {"", "multiple", "no_face", "unknown", "invalid"}
PASSWORD = "benchmark password 1234"
# The head turn of the liveness rows: the shared clip (a woman turning to the image's right from ~7.7 s: her own left),
# 8 frames of 1.5 s from 7.7 s at 640 px as the kiosk page sends them (a frame every 1/15 s, the 8 where the picture
# moved: `facegate bench liveness` cuts them, for both benchmarks), and a frontal frame to enrol.
TURN_CLIP = os.path.join("video", "liveportrait_d3.mp4")
TURN_START, TURN_WINDOW, TURN_FRAMES, TURN_WIDTH = 7.7, 1.5, 8, 640
ENROL_AT = (7.7, 7.5, 3.0)  # seconds of frontal frames to enrol from, the first the service takes
CHALLENGE_ROW = f"checkins (challenge, {TURN_FRAMES} frames)"


def log(message):
    print(f"[throughput] {message}", file=sys.stderr, flush=True)


def run(command, env=None, capture=True):
    """Runs a command; returns the JSON of its last stdout line (capture) or nothing. Fails loudly."""
    log(" ".join(command) if len(" ".join(command)) < 300 else command[0] + " …")
    result = subprocess.run(command, env=env, text=True, stdout=subprocess.PIPE if capture else None)
    if result.returncode != 0:
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(command[:6])}")
    if capture:
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        return json.loads(lines[-1])


# MARK: - Photo sets


@functools.lru_cache(maxsize=None)
def manifest_rows(faces):
    with open(os.path.join(faces, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))


def checkin_set(faces):
    """Real photos of one labelled person at camera-frame sizes, as a kiosk or desk would send: face_recognition,
    deepface, CompreFace and dlib portraits up to 2000 px (no LFW 250 px crops, aligned chips, partial or tiny faces,
    format variants or mirror reflections), JPEG and PNG only (what both libraries read)."""
    chosen = []
    for row in manifest_rows(faces):
        categories = row["category"]
        if row["derived"] != "no" or row["identity"] in UNLABELLED or row["expected_faces"] != "1":
            continue
        if row["source"] not in ("face_recognition", "deepface", "compreface", "dlib"):
            continue
        if any(c in categories for c in ("aligned_chip", "tiny_face", "partial_face", "format_variant")):
            continue
        if row["format"] not in ("JPEG", "PNG") or max(int(row["width"]), int(row["height"])) > 2000:
            continue
        if row["identity"] == "compreface/einstein":
            continue
        chosen.append((row["file"], row["identity"]))
    return chosen


def resolution_set(faces):
    """The 480p/720p/1080p frames of the Obama ladder and the real single-face photo closest to 4000 px wide."""
    ladder = [f"face_recognition/obama/obama-{p}.jpg" for p in ("480p", "720p", "1080p")]
    large = [r for r in manifest_rows(faces) if r["derived"] == "no" and r["expected_faces"] == "1"
             and r["identity"] not in UNLABELLED and r["format"] == "JPEG" and max(int(r["width"]), int(r["height"])) >= 3000]
    large.sort(key=lambda r: abs(max(int(r["width"]), int(r["height"])) - 4000))
    return ladder + ([large[0]["file"]] if large else [])


def write_list(path, files):
    with open(path, "w") as f:
        f.write("\n".join(files) + "\n")
    return path


# MARK: - Pipeline: facegate vs face_recognition


def pinned(cores):
    return ["taskset", "-c", ",".join(str(c) for c in range(cores))]


def pipeline_phase(args, scratch):
    checkin = [f for f, _ in checkin_set(args.faces)][: args.checkin_photos]
    resolutions = resolution_set(args.faces)[: args.resolution_photos]
    checkin_list = write_list(os.path.join(scratch, "checkin.txt"), checkin)
    resolution_list = write_list(os.path.join(scratch, "resolutions.txt"), resolutions)
    facegate, peer = os.environ["FACEGATE_BIN"], os.environ["PEER_PYTHON"]
    peer_script = os.path.join(HERE, "face_recognition_bench.py")
    result = {"checkin_set": {"photos": len(checkin), "files": checkin}, "cores": {}}
    for cores in args.cores:
        if cores > os.cpu_count():
            continue
        # facegate's two face models (the default, SFace, and dlib) and face_recognition run one after another on
        # the same photos and the same pinned cores.
        ours = {model: run(pinned(cores) + [facegate, "bench", "pipeline", "--model", model, "--root", args.faces,
                                            "--list", checkin_list, "--workers", str(cores), "--rounds", str(args.rounds)])
                for model in ("sface", "dlib")}
        theirs = run(pinned(cores) + [peer, peer_script, args.faces, checkin_list, "--workers", str(cores),
                                      "--rounds", str(args.peer_rounds)])
        result["cores"][str(cores)] = {
            "facegate": ours["sface"], "facegate_dlib": ours["dlib"], "face_recognition": theirs,
            "ratio_photos_per_s": round(ours["sface"]["photos_per_s"] / theirs["photos_per_s"], 2),
            "ratio_dlib_photos_per_s": round(ours["dlib"]["photos_per_s"] / theirs["photos_per_s"], 2),
            "ratio_sface_to_dlib": round(ours["sface"]["photos_per_s"] / ours["dlib"]["photos_per_s"], 2),
            "faces": compare_faces(ours["sface"]["per_photo"], theirs["per_photo"]),
            "faces_dlib": compare_faces(ours["dlib"]["per_photo"], theirs["per_photo"]),
            # Faces dlib finds that SFace's detector misses ("missed_by_facegate" here) and the reverse.
            "faces_sface_vs_dlib": compare_faces(ours["sface"]["per_photo"], ours["dlib"]["per_photo"]),
        }
    ours = run(pinned(1) + [facegate, "bench", "pipeline", "--root", args.faces, "--list", resolution_list,
                            "--workers", "1", "--rounds", str(args.rounds + 1)])
    theirs = run(pinned(1) + [peer, peer_script, args.faces, resolution_list, "--workers", "1",
                              "--rounds", str(args.peer_rounds)])
    result["resolutions"] = {"facegate": ours, "face_recognition": theirs}
    # A challenge check-in's server work beside a single photo's, one engine on one core, alternating in one process:
    # the target is 6 frames at most 3x a single photo; the kiosk sends 8.
    result["liveness"] = run(pinned(1) + [facegate, "bench", "liveness", "--frames", f"6,{TURN_FRAMES}",
                                          "--rounds", str(args.liveness_rounds), "--seconds", str(args.liveness_seconds),
                                          "--runs", str(args.liveness_runs)] + liveness_frames(args))
    return result


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / float(aw * ah + bw * bh - inter) if inter else 0.0


def compare_faces(ours, theirs, threshold=0.3):
    """Which faces each found, photo by photo (boxes overlapping by IoU ≥ 0.3 are the same face). A photo facegate
    found only after turning it has boxes in the turned frame: it is compared by count."""
    summary = {"facegate_faces": 0, "face_recognition_faces": 0, "both": 0, "missed_by_facegate": [],
               "missed_by_face_recognition": [], "largest_face_agrees": 0, "photos": len(ours)}
    for mine, other in zip(ours, theirs):
        summary["facegate_faces"] += len(mine["boxes"])
        summary["face_recognition_faces"] += len(other["boxes"])
        if mine["turn"] != 1:
            summary["both"] += min(len(mine["boxes"]), len(other["boxes"]))
            continue
        unmatched = list(mine["boxes"])
        for box in other["boxes"]:
            best = max(unmatched, key=lambda b: iou(b, box), default=None)
            if best is not None and iou(best, box) >= threshold:
                summary["both"] += 1
                unmatched.remove(best)
            else:
                summary["missed_by_facegate"].append({"file": mine["file"], "box": box})
        summary["missed_by_face_recognition"] += [{"file": mine["file"], "box": b} for b in unmatched]
        if mine["boxes"] and other["boxes"] and iou(mine["boxes"][0], other["boxes"][0]) >= threshold:
            summary["largest_face_agrees"] += 1
    return summary


# MARK: - Search


def search_phase(args):
    command = [os.environ["FACEGATE_BIN"], "bench", "search", "--sizes", ",".join(map(str, args.search_sizes)),
               "--hnsw-max-size", str(args.hnsw_max_size), "--queries", str(args.search_queries)]
    return run(command, env=database_env(args, "facegate_bench_search", fresh=True))


# MARK: - A service to load


def psql(sql, database=None):
    """Runs `sql` (in `database`, else the cluster's default one); its output, unaligned and without headers."""
    return subprocess.run([os.environ["PG_SCRIPT"], "psql", *(["-d", database] if database else []), "-q", "-A", "-t",
                           "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, text=True, stdout=subprocess.PIPE).stdout.strip()


def database_env(args, name, fresh=False):
    if fresh:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        psql(f"CREATE DATABASE {name}")
    url = subprocess.run([os.environ["PG_SCRIPT"], "url"], check=True, text=True, stdout=subprocess.PIPE).stdout.strip()
    env = dict(os.environ)
    env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    return env


class Service(facegate_service.Service):
    """`facegate serve` (the system tests' driver, Tests/system/facegate_service.py) with benchmark settings: rate
    limits raised so that capacity is measured (the deliberate 429 path has its own tests), every check-in a new
    row, the server's log in `args.server_log`."""

    def __init__(self, args, env, port):
        super().__init__(env["DATABASE_URL"], port=port, log_path=args.server_log, admin_username="bench-root",
                         password=PASSWORD, env={
            "MODELS_DIR": env.get("MODELS_DIR", "models"),
            "RATE_LIMIT_PER_MINUTE": "1000000", "RATE_LIMIT_BURST": "1000000", "LOGIN_RATE_LIMIT_PER_MINUTE": "10000",
            "ACCESS_TOKEN_EXPIRE_MINUTES": "1440", "CHECKIN_DEDUP_SECONDS": "0", "GALLERY_CHECK_SECONDS": "3600",
        })
        self.base = f"http://127.0.0.1:{port}"

    def start(self, expect_faces=None, timeout=900):
        """Starts the service and waits until it is ready (with `expect_faces` in its index); the seconds that took
        and the /ready report."""
        started = time.monotonic()
        super().start(wait=False)
        ready = self.ready_with(expect_faces, timeout)
        return time.monotonic() - started, ready

    def ready_with(self, expect_faces=None, timeout=900):
        def holds(report):
            gallery = report["checks"]["gallery"]
            return expect_faces is None or (gallery.get("faces") == expect_faces and gallery.get("in_sync"))
        return self.wait_ready(timeout, until=holds)

    def seed(self, organization, faces):
        """`facegate bench seed` of the organisation up to `faces`, run with the server's own environment (its
        database, model and template key set), so that the seeded templates are under a key the server has: the
        command's own layered environment (the checkout's .local/dev.env) would name another one. Its JSON summary."""
        return run([os.environ["FACEGATE_BIN"], "bench", "seed", "--organization", organization, "--faces",
                    str(faces), "--drop-hnsw-index"], env=self.environment())

    def memory(self):
        """Resident memory now and its peak so far."""
        return self.resident_bytes(), self.resident_bytes("VmHWM")

    def call(self, method, path, token=None, body=None, content_type="application/json"):
        """One API call; its status and JSON body."""
        headers = {"Content-Type": content_type} if body is not None else None
        response = self.api(method, path, body, token, headers=headers, timeout=120)
        return response.status, response.json()

    def organization(self, name):
        """A new organisation with an admin and a kiosk account; its id and their access tokens."""
        org, tokens = super().organization(name, roles=("admin", "kiosk"))
        return org, tokens["admin"], tokens["kiosk"]

    def set_liveness(self, org, policy, admin):
        """The organisation's liveness policy: `challenge` (the default) or `off`."""
        status, body = self.call("PATCH", f"/organizations/{org}", admin, {"liveness": policy})
        assert status == 200 and body["liveness"] == policy, (status, body)


# MARK: - HTTP under load


def http_phase(args, scratch):
    env = database_env(args, "facegate_bench_http", fresh=True)
    service = Service(args, env, free_port())
    try:
        service.start(expect_faces=0)
        org, admin, kiosk = service.organization("bench-http")
        # These rows measure terminals that bring their own liveness (IR or stereo cameras): single photos, which the
        # default policy (`challenge`) refuses from a kiosk account (422 liveness_required). The head-turn check-in
        # has its own row, in an organisation of its own with the default policy (`challenge_phase`).
        service.set_liveness(org, "off", admin)
        probes, enrolment = enrol_identities(args, service, admin)
        # Probes used under load are those that check in as the right person, so any other answer is an error.
        named = checked_in_probes(args, service, kiosk, probes)
        good = [os.path.join(args.faces, path) for path, _ in named]
        enrolment.update({"probes": len(probes), "probes_checked_in_correctly": len(good)})
        probe_list = write_list(os.path.join(scratch, "probes.txt"), good)
        # The offline pipeline on the same photos and the same 2 cores, right before the load (one face, as a
        # check-in embeds the largest face only).
        offline = run([os.environ["FACEGATE_BIN"], "bench", "pipeline", "--root", "/", "--list", probe_list,
                       "--workers", str(min(2, os.cpu_count())), "--rounds", str(args.rounds), "--faces", "1"])
        result = {"enrolment": enrolment, "offline_photos_per_s": offline["photos_per_s"], "galleries": []}
        other_faces = 0  # faces of the challenge row's organisation, in the service's index beside this one's
        for size in args.gallery_sizes:
            seeded = service.seed(org, size)
            service.ready_with(expect_faces=size + other_faces)
            gallery = {"faces": size, "seed_seconds": seeded["seconds"], "endpoints": {},
                       "front_desk": front_desk(args, service, kiosk, named)}
            log(f"front desk at {size} faces: {gallery['front_desk']}")
            for endpoint, token in (("checkins", kiosk), ("identify", admin)):
                gallery["endpoints"][endpoint] = run([
                    os.environ["FACEGATE_BIN"], "bench", "load", "--url", f"{service.base}/api/v1/{endpoint}",
                    "--token", token, "--photos", probe_list, "--concurrency", ",".join(map(str, args.concurrency)),
                    "--seconds", str(args.load_seconds), "--warm-up", str(min(3, args.load_seconds)),
                    "--server-pid", str(service.process.pid)])
            if size == min(args.gallery_sizes):
                result["challenge"], gallery["endpoints"][CHALLENGE_ROW] = challenge_phase(
                    args, service, scratch, size, already=size)
                other_faces = size
            result["galleries"].append(gallery)
        result["server"] = {"workers": os.environ.get("ENGINE_WORKERS", "cores"),
                            "queue_limit": os.environ.get("ENGINE_QUEUE_LIMIT", "default")}
        return result
    finally:
        service.stop()


def ffmpeg(*arguments):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *arguments], check=True)


def liveness_frames(args, folder=None):
    """The `facegate bench liveness` arguments of the clip's turn frames (written into `folder` when given)."""
    return (["--video", os.path.join(args.faces, TURN_CLIP), "--start", str(TURN_START), "--window", str(TURN_WINDOW),
             "--width", str(TURN_WIDTH)] + (["--save-frames", folder] if folder else []))


def turn_frames(args, scratch):
    """The clip's head turn as a kiosk sends it, and its mirror image: the `TURN_FRAMES` frames `facegate bench
    liveness` takes (as the kiosk does, over `TURN_WINDOW` seconds from `TURN_START`, `TURN_WIDTH` px wide, JPEG) into `left/` (the
    clip turns to the image's right: the person's own left) and, flipped horizontally, `right/` (a real turn the other
    way); and frontal frames to enrol (at the clip's own size, at each of `ENROL_AT`). The two folders and the frames'
    paths."""
    clip = os.path.join(args.faces, TURN_CLIP)
    base = os.path.join(scratch, "challenge")
    shutil.rmtree(base, ignore_errors=True)
    folders = {"left": os.path.join(base, "left"), "right": os.path.join(base, "right")}
    os.makedirs(folders["right"])
    run([os.environ["FACEGATE_BIN"], "bench", "liveness", "--no-timing", "--frames", str(TURN_FRAMES)]
        + liveness_frames(args, folders["left"]))
    for name in sorted(os.listdir(folders["left"])):
        ffmpeg("-i", os.path.join(folders["left"], name), "-vf", "hflip", "-q:v", "3", "-update", "1",
               os.path.join(folders["right"], name))
    enrol = []
    for at in ENROL_AT:
        enrol.append(os.path.join(base, f"enrol-{at:.1f}.jpg"))
        ffmpeg("-ss", f"{at:.3f}", "-i", clip, "-frames:v", "1", "-q:v", "3", "-update", "1", enrol[-1])
    return folders, enrol


def multipart(fields, images):
    """A multipart/form-data body of text `fields` ((name, value) pairs) and JPEG `images` ((name, bytes) pairs); the
    body and its Content-Type."""
    boundary = "facegate-bench-" + uuid.uuid4().hex
    chunks = []
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for i, (name, data) in enumerate(images):
        chunks += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="frame{i}.jpg"\r\n'
                   f"Content-Type: image/jpeg\r\n\r\n".encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def challenge_check_in(service, kiosk, folders, wanted=None):
    """One challenge check-in as a kiosk makes it: a challenge, then the frames of the turn it asks for. With `wanted`,
    challenges asking the other way are left unused (they expire) until one asks for `wanted` (the service picks the
    turn at random). The turn asked and the check-in's status and body."""
    for _ in range(64):
        status, body = service.call("POST", "/checkins/challenges", kiosk)
        assert status == 201, (status, body)
        if wanted is None or body["turn"] == wanted:
            break
    turn = body["turn"]
    folder = folders[turn]
    frames = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            frames.append(("image", f.read()))
    payload, content_type = multipart([("challenge_id", body["challenge_id"])], frames)
    status, answer = service.call("POST", "/checkins", kiosk, payload, content_type)
    return turn, status, answer or {}


def challenge_phase(args, service, scratch, size, already):
    """The head-turn check-in under load: an organisation of its own with the default policy (`challenge`), the clip's
    person enrolled from a frontal frame through the API and synthetic faces up to `size` (as the single-photo rows
    beside it; `already` faces of the other organisation are in the service's index), one check-in each way checked
    before the load, then `facegate bench load` in challenge mode (a challenge and the frames of the turn it asks for
    per check-in; the latency is the pair's) at the check-in rows' client counts. Its summary and the load's JSON."""
    folders, enrol = turn_frames(args, scratch)
    org, admin, kiosk = service.organization("bench-liveness")
    status, member = service.call("POST", "/members", admin, {"name": "liveportrait_d3", "pin": pin_of("liveportrait_d3")})
    assert status == 201, (status, member)
    refused = []
    for path in enrol:
        with open(path, "rb") as f:
            status, body = service.call("POST", f"/members/{member['id']}/faces", admin, f.read(), "image/jpeg")
        if status == 201:
            enrolled_at = float(os.path.basename(path)[len("enrol-"):-len(".jpg")])
            break
        refused.append((os.path.basename(path), status, (body or {}).get("code")))
    assert status == 201, f"no frontal frame of {TURN_CLIP} was enrolled: {refused}"
    seeded = service.seed(org, size)
    service.ready_with(expect_faces=size + already)
    checked = {}
    for wanted in ("left", "right"):
        turn, status, answer = challenge_check_in(service, kiosk, folders, wanted)
        checked[wanted] = {"asked": turn, "status": status, "code": answer.get("code"), "reason": answer.get("reason"),
                           "member": (answer.get("member") or {}).get("name")}
    log(f"challenge check-ins before the load: {checked}")
    load = run([os.environ["FACEGATE_BIN"], "bench", "load", "--url", f"{service.base}/api/v1/checkins",
                "--token", kiosk, "--challenge-left", folders["left"], "--challenge-right", folders["right"],
                "--concurrency", ",".join(map(str, args.concurrency)), "--seconds", str(args.load_seconds),
                "--warm-up", str(min(3, args.load_seconds)), "--server-pid", str(service.process.pid)])
    summary = {"faces": size, "seed_seconds": seeded["seconds"], "frames": TURN_FRAMES, "clip": TURN_CLIP,
               "start_s": TURN_START, "window_s": TURN_WINDOW, "width": TURN_WIDTH, "enrolled_at_s": enrolled_at,
               "checked": checked, "row": CHALLENGE_ROW}
    return summary, load


def pin_of(identity):
    """The benchmark's PIN for a member: six digits of its name's hash (distinct enough for a few hundred members)."""
    return f"{int(hashlib.sha256(identity.encode()).hexdigest(), 16) % 1_000_000:06d}"


def front_desk(args, service, kiosk, probes):
    """Each probe (a real member's other photo) at the kiosk once, as a member would come in: checked in by face, or
    asked for the PIN (202) and checked in with the member's own PIN, or neither (sent to the desk); and any check-in
    as somebody else. Shares of the probes."""
    counts = {"by_face": 0, "by_pin": 0, "unresolved": 0, "wrong_member": 0, "asked_with_own_pin_refused": 0}
    for path, name in probes:
        with open(os.path.join(args.faces, path), "rb") as f:
            status, body = service.call("POST", "/checkins", kiosk, f.read(), "image/jpeg")
        if status in (200, 201):
            counts["by_face" if body["member"]["name"] == name else "wrong_member"] += 1
        elif status == 202:
            status, body = service.call("POST", f"/checkins/confirmations/{body['confirmation_id']}", kiosk,
                                        {"pin": pin_of(name)})
            if status in (200, 201):
                counts["by_pin" if body["member"]["name"] == name else "wrong_member"] += 1
            else:
                counts["unresolved"] += 1
                counts["asked_with_own_pin_refused"] += 1
        else:
            counts["unresolved"] += 1
    total = max(1, len(probes))
    return {"probes": len(probes), **counts,
            **{f"{key}_share": round(value / total, 4) for key, value in counts.items() if key != "asked_with_own_pin_refused"}}


def checked_in_probes(args, service, kiosk, probes):
    """The (path, name) probes that check in as the right member; under load any other answer is an error."""
    good = []
    for path, name in probes:
        with open(os.path.join(args.faces, path), "rb") as f:
            status, body = service.call("POST", "/checkins", kiosk, f.read(), "image/jpeg")
        if status == 201 and body["member"]["name"] == name:
            good.append((path, name))
    return good


def enrol_identities(args, service, admin):
    """Every identity of the check-in set with two or more photos: a member with a PIN (`pin_of`), its first photo
    enrolled through the API; the other JPEG photos are its probes."""
    by_identity = {}
    for path, identity in checkin_set(args.faces):
        by_identity.setdefault(identity, []).append(path)
    probes, enrolled, refused = [], 0, []
    for identity, paths in sorted(by_identity.items())[: args.identities]:
        if len(paths) < 2:
            continue
        status, member = service.call("POST", "/members", admin, {"name": identity, "pin": pin_of(identity)})
        assert status == 201, (status, member)
        with open(os.path.join(args.faces, paths[0]), "rb") as f:
            status, body = service.call("POST", f"/members/{member['id']}/faces", admin, f.read(), "image/jpeg"
                                        if paths[0].lower().endswith((".jpg", ".jpeg")) else "image/png")
        if status != 201:
            refused.append({"file": paths[0], "status": status, "code": body.get("code")})
            continue
        enrolled += 1
        probes += [(p, identity) for p in paths[1:] if p.lower().endswith((".jpg", ".jpeg"))]
    return probes, {"members": enrolled, "refused_enrolments": refused}


# MARK: - Webhooks


class HookReceiver:
    """A webhook receiver in a process of its own: answers 200 at once and writes, per event, its type, when it
    arrived and the event's time (one clock: the same machine) to a file read at the end. It shares the two cores
    with the service (the gym's software would run elsewhere): its own CPU time counts against the check-ins here."""

    SCRIPT = r"""
import http.server, sys, time
out = open(sys.argv[1], "a", buffering=1)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        # "created_at":"2026-12-06T19:00:00.123Z" sits at a fixed place after the id and type.
        kind = self.headers.get("Facegate-Event-Type", "")
        at = body.find(b'"created_at":"')
        out.write(f"{kind} {arrived} {body[at + 14:at + 38].decode()}\n")
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default 5 drops connections a dispatcher opens at once
server = Server(("127.0.0.1", int(sys.argv[2])), Handler)
server.serve_forever()
"""

    def __init__(self, scratch):
        self.log = os.path.join(scratch, "webhook-receiver.log")
        open(self.log, "w").close()
        port = free_port()
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, self.log, str(port)])
        self.url = f"http://127.0.0.1:{port}/hooks"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the webhook receiver did not start")

    def lines(self):
        with open(self.log) as f:
            return [line.split() for line in f if line.strip()]

    @property
    def count(self):
        return len(self.lines())

    def lags(self, since=0):
        """Milliseconds from each `checkin.recorded` event's time to its arrival, of the lines after `since`."""
        lags = []
        for kind, arrived, created in self.lines()[since:]:
            if kind == "checkin.recorded":
                at = datetime.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
                lags.append((float(arrived) - at) * 1000)
        return lags

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def percentile(values, q):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


def webhook_phase(args, scratch):
    """What a webhook costs a check-in: the check-in load at `args.webhook_concurrency` without and with an endpoint
    for `checkin.recorded` (side by side in one run), the delivery lag from commit to the receiver's 200 under that
    load, and a backlog of `args.webhook_backlog` events (an outage's) drained while the load runs again."""
    database = "facegate_bench_webhooks"
    env = database_env(args, database, fresh=True)
    service = Service(args, env, free_port())
    service.env.update({"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"})
    receiver = HookReceiver(scratch)
    try:
        service.start(expect_faces=0)
        org, admin, kiosk = service.organization("bench-webhooks")
        service.set_liveness(org, "off", admin)
        few = argparse.Namespace(**{**vars(args), "identities": args.webhook_identities})
        probes, enrolment = enrol_identities(few, service, admin)
        good = [os.path.join(args.faces, path) for path, _ in checked_in_probes(args, service, kiosk, probes)]
        probe_list = write_list(os.path.join(scratch, "webhook-probes.txt"), good)

        def load():
            return run([os.environ["FACEGATE_BIN"], "bench", "load", "--url", f"{service.base}/api/v1/checkins",
                        "--token", kiosk, "--photos", probe_list, "--concurrency", str(args.webhook_concurrency),
                        "--seconds", str(args.load_seconds), "--warm-up", str(min(3, args.load_seconds)),
                        "--server-pid", str(service.process.pid)])["levels"][0]

        def row(level):
            return {"ok_per_s": level["ok_per_s"], "p50_ms": level["latency_ok_ms"]["p50"],
                    "p99_ms": level["latency_ok_ms"]["p99"], "errors": level["errors"]}

        result = {"concurrency": args.webhook_concurrency, "probes": len(good), "enrolment": enrolment}
        # Side by side: without, with, and without again (the machine drifts; the baseline is their mean).
        without = [row(load())]
        status, endpoint = service.call("POST", "/webhooks", admin, {"url": receiver.url, "events": ["checkin.recorded"]})
        assert status == 201, endpoint
        delivered_before = receiver.count
        with_hook = row(load())
        time.sleep(2)  # the last events of the run arrive
        lags = receiver.lags(since=delivered_before)
        status, _ = service.call("PATCH", f"/webhooks/{endpoint['id']}", admin, {"enabled": False})
        assert status == 200
        without.append(row(load()))
        baseline = sum(r["p50_ms"] for r in without) / len(without)
        result.update({
            "without_webhook": without, "with_webhook": with_hook,
            "p50_overhead_percent": round((with_hook["p50_ms"] / baseline - 1) * 100, 1),
            "lag_ms": {"events": len(lags), "p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99),
                       "max": percentile(lags, 1.0)},
            "events_delivered": receiver.count - delivered_before,
        })
        log(f"webhooks: p50 {with_hook['p50_ms']} ms with, {baseline:.1f} ms without; lag p50 {result['lag_ms']['p50']} ms")

        # A backlog, as after an outage: events and their deliveries written straight into the outbox, then drained
        # while the check-in load runs.
        status, _ = service.call("PATCH", f"/webhooks/{endpoint['id']}", admin, {"enabled": True})
        assert status == 200
        total = args.webhook_backlog
        psql(f"""
            WITH events AS (
                INSERT INTO webhook_events (organization_id, type, data, created_at)
                SELECT '{org}', 'member.updated', jsonb_build_object('member_id', gen_random_uuid(), 'n', i), now()
                FROM generate_series(1, {total}) i RETURNING id, seq
            )
            INSERT INTO webhook_deliveries (endpoint_id, event_id, seq) SELECT '{endpoint['id']}', id, seq FROM events
            """, database)
        started = time.monotonic()
        during = row(load())
        backlog_pending = "SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id " \
            "WHERE d.state = 'pending' AND e.type = 'member.updated'"
        pending_after_load = int(psql(backlog_pending, database))
        while int(psql("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'", database)) > 0:
            if time.monotonic() - started > args.webhook_drain_timeout:
                break
            time.sleep(1)
        drained = time.monotonic() - started
        left = int(psql(backlog_pending, database))
        result["backlog"] = {
            "events": total, "left": left, "seconds": round(drained, 1),
            "events_per_s": round((total - left) / drained, 1),
            "delivered_during_load": total - pending_after_load, "checkins_during_drain": during,
            "p50_slowdown_percent": round((during["p50_ms"] / baseline - 1) * 100, 1),
            "ok_per_s_change_percent": round(
                (during["ok_per_s"] / (sum(r["ok_per_s"] for r in without) / len(without)) - 1) * 100, 1),
        }
        log(f"webhook backlog: {result['backlog']}")
        return result
    finally:
        service.stop()
        receiver.stop()


# MARK: - Memory and start-up


def memory_phase(args):
    env = database_env(args, "facegate_bench_memory", fresh=True)
    service = Service(args, env, free_port())
    points = []
    try:
        seconds, _ = service.start(expect_faces=0)
        time.sleep(1)
        rss, peak = service.memory()
        points.append({"faces": 0, "startup_seconds": round(seconds, 2), "rss_bytes": rss, "rss_peak_bytes": peak})
        org, _, _ = service.organization("bench-memory")
        service.stop()
        for size in [s for s in args.memory_sizes if s > 0]:
            seeded = service.seed(org, size)
            seconds, _ = service.start(expect_faces=size, timeout=1800)
            time.sleep(1)
            rss, peak = service.memory()
            points.append({"faces": size, "startup_seconds": round(seconds, 2), "rss_bytes": rss,
                           "rss_peak_bytes": peak, "seed_seconds": seeded["seconds"]})
            service.stop()
        return {"points": points}
    finally:
        service.stop()


# MARK: - Report


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    memory = next((int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    swift = subprocess.run(["swift", "--version"], text=True, capture_output=True).stdout.splitlines()
    peer = subprocess.run([os.environ["PEER_PYTHON"], "-c", "import dlib, face_recognition, numpy; "
                           "print(dlib.__version__, dlib.DLIB_USE_BLAS, numpy.__version__)"],
                          text=True, capture_output=True).stdout.split()
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_bytes": memory, "kernel": platform.release(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "swift": swift[0] if swift else "", "python": platform.python_version(),
        "peer": {"face_recognition": "1.3.0", "dlib": peer[0] if peer else "", "dlib_uses_blas": peer[1:2] == ["True"],
                 "numpy": peer[2] if len(peer) > 2 else ""},
        "git_commit": subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], text=True,
                                     capture_output=True).stdout.strip(),
    }


def headline(results):
    cores = results.get("pipeline", {}).get("cores", {})
    by_cores = {c: v["ratio_photos_per_s"] for c, v in cores.items()}
    results["ratio_vs_face_recognition_by_cores"] = by_cores
    results["ratio_vs_face_recognition"] = by_cores.get("2", next(iter(by_cores.values()), None))


def failures(results):
    """What makes a smoke run fail: errors or unexplained refusals under load, nothing checked in, no face found."""
    found = []
    for gallery in results.get("http", {}).get("galleries", []):
        for endpoint, run in gallery["endpoints"].items():
            for level in run["levels"]:
                if level["errors"] or level["shed_without_retry_after"] or not level["ok_per_s"]:
                    found.append(f"{endpoint} at {level['concurrency']} clients: {level['statuses']}")
    if "http" in results and not results["http"]["enrolment"]["probes_checked_in_correctly"]:
        found.append("no probe photo checked in as the right member")
    for turn, answer in results.get("http", {}).get("challenge", {}).get("checked", {}).items():
        if answer["status"] not in (200, 201, 202) or answer["asked"] != turn:
            found.append(f"the clip's turn to the {turn} did not check in: {answer}")
    liveness = results.get("pipeline", {}).get("liveness")
    if liveness and liveness["refusals"].get(str(liveness["target_frames"])) != "accepted":
        found.append(f"bench liveness: the clip's {liveness['target_frames']} frames were refused: {liveness['refusals']}")
    for cores, run in results.get("pipeline", {}).get("cores", {}).items():
        if not run["faces"]["both"]:
            found.append(f"no face found by both libraries on {cores} core(s)")
    if "memory" in results and len(results["memory"]["points"]) < 2:
        found.append("memory points missing")
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds each, into --out")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--phases", default="pipeline,search,http,webhooks,memory")
    args = parser.parse_args()
    args.faces = os.environ["FACES"]
    if args.smoke:
        args.cores, args.rounds, args.peer_rounds = [1], 1, 1
        args.checkin_photos, args.resolution_photos, args.identities = 3, 1, 3
        args.search_sizes, args.hnsw_max_size, args.search_queries = [2000], 2000, 20
        args.gallery_sizes, args.concurrency, args.load_seconds = [200], [1, 4], 2
        args.memory_sizes = [0, 1000]
        args.liveness_rounds, args.liveness_seconds, args.liveness_runs = 1, 0, 2
        args.webhook_identities, args.webhook_concurrency, args.webhook_backlog = 3, 4, 2000
        args.webhook_drain_timeout = 120
    else:
        args.cores, args.rounds, args.peer_rounds = [1, 2], 2, 1
        args.checkin_photos, args.resolution_photos, args.identities = 1000, 4, 1000
        args.search_sizes, args.hnsw_max_size, args.search_queries = [10000, 100000, 1000000], 100000, 200
        args.gallery_sizes, args.concurrency, args.load_seconds = [10000, 100000], [1, 8, 32, 64], 20
        args.memory_sizes = [0, 100000, 1000000]
        args.liveness_rounds, args.liveness_seconds, args.liveness_runs = 3, 1, 5
        args.webhook_identities, args.webhook_concurrency, args.webhook_backlog = 200, 8, 100000
        args.webhook_drain_timeout = 900
    phases = args.phases.split(",")
    if ("pipeline" in phases or "http" in phases) and not shutil.which("ffmpeg"):
        # The liveness rows cut a real head turn out of a shared clip (`scripts/setup browser` installs ffmpeg).
        raise SystemExit("ffmpeg not found: the liveness rows need it (apt-get install ffmpeg, or scripts/setup browser)")
    os.makedirs(args.out, exist_ok=True)
    scratch = os.path.join(REPO, ".local", "bench", "scratch")
    os.makedirs(scratch, exist_ok=True)
    args.server_log = os.path.join(scratch, "server.log")

    started = time.time()
    results = {"started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "smoke": args.smoke, "machine": machine()}
    if "pipeline" in phases:
        results["pipeline"] = pipeline_phase(args, scratch)
    if "search" in phases:
        results["search"] = search_phase(args)
    if "http" in phases:
        results["http"] = http_phase(args, scratch)
    if "webhooks" in phases:
        results["webhooks"] = webhook_phase(args, scratch)
    if "memory" in phases:
        results["memory"] = memory_phase(args)
    headline(results)
    results["seconds"] = round(time.time() - started, 1)
    path = os.path.join(args.out, "throughput.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    log(f"results: {path}")
    subprocess.run([os.environ["PEER_PYTHON"], os.path.join(HERE, "report.py"), path], check=True)
    problems = failures(results)
    for problem in problems:
        log(f"problem: {problem}")
    if args.smoke and problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
