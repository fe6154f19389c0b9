"""The member import benchmark of benchmarks/README.md: `facegate import members` of N photos (default 1,000) of
people from the shared photos (LFW fold 1 first, then the other sets' identity photos; one member per identity), on
a fresh database, for each face model: the first run (every photo decoded, gated, embedded, checked against the
organisation's faces and stored) and a second run of the same file (every photo skipped by its SHA-256). Photos per
second from the import's own JSON summary, and its wall time.

Run through `benchmarks/run import`. Environment (benchmarks/run sets it): FACEGATE_BIN, FACES, PG_SCRIPT, MODELS_DIR,
OPENBLAS_NUM_THREADS.
"""
import argparse
import base64
import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time


def log(message):
    print(f"[import] {message}", file=sys.stderr, flush=True)


def people(faces, count):
    """Up to `count` photos of labelled people, as (identity, relative path), grouped by identity, LFW first."""
    with open(os.path.join(faces, "manifest.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["category"].split(",")[0] in ("identity", "identity_singleton")
                and r["format"] in ("JPEG", "PNG", "WEBP")]
    rows.sort(key=lambda r: (not r["file"].startswith("lfw/"), r["identity"], r["file"]))
    return [(r["identity"], r["file"]) for r in rows[:count]]


def write_csv(path, photos):
    members = {}
    for identity, file in photos:
        members.setdefault(identity, []).append(file)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["external_id", "name", "email", "photos", "metadata"])
        for identity, files in members.items():
            writer.writerow([identity, identity.split("/")[-1].replace("_", " "), "", ";".join(files), "{}"])
    return len(members)


def psql(*commands):
    arguments = [os.environ["PG_SCRIPT"], "psql", "-q", "-v", "ON_ERROR_STOP=1"]
    for command in commands:
        arguments += ["-c", command]
    subprocess.run(arguments, check=True, stdout=subprocess.DEVNULL)


def facegate(arguments, env, folder):
    """Runs the executable from `folder` (no repository .env is read); its exit status and JSON summary."""
    log("facegate " + " ".join(arguments))
    result = subprocess.run([os.environ["FACEGATE_BIN"], *arguments], env=env, cwd=folder, text=True,
                            stdout=subprocess.PIPE)
    summary = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not summary:
        raise SystemExit(f"facegate {arguments[0]} printed no summary (exit {result.returncode})")
    return result.returncode, json.loads(summary[-1])


def measure(model, csv_path, faces, photos, folder):
    name = f"facegate_bench_import_{model}"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    url = subprocess.run([os.environ["PG_SCRIPT"], "url"], check=True, text=True, stdout=subprocess.PIPE).stdout.strip()
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url.rsplit("/", 1)[0] + "/" + name, "FACE_MODEL": model,
        "SECRET_KEY": "import benchmark secret key, 32 bytes or more",
        "BIOMETRIC_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(), "LOG_LEVEL": "warning",
    })
    facegate(["migrate"], env, folder)
    psql(f"\\c {name}", "INSERT INTO organizations (name) VALUES ('bench-import')")
    arguments = ["import", "members", "--csv", csv_path, "--photos", faces, "--organization", "bench-import",
                 "--report", os.path.join(folder, f"report-{model}.csv")]
    runs = []
    for label in ("first", "again"):
        started = time.monotonic()
        status, summary = facegate(arguments, env, folder)
        wall = time.monotonic() - started
        runs.append({"run": label, "exit": status, "wall_seconds": round(wall, 2),
                     "photos_per_second": round(photos / summary["seconds"], 2),
                     "photos_per_second_wall": round(photos / wall, 2), **summary})
        log(f"{model} {label}: {photos} photos in {summary['seconds']:.1f} s ({photos / summary['seconds']:.1f}/s; "
            f"wall {wall:.1f} s with start-up): {summary}")
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return {"model": model, "runs": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--models", default="sface,dlib")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = parser.parse_args()
    faces = os.path.abspath(os.environ["FACES"])
    chosen = people(faces, args.photos)
    with tempfile.TemporaryDirectory(prefix="facegate-import-") as folder:
        csv_path = os.path.join(folder, "members.csv")
        members = write_csv(csv_path, chosen)
        log(f"{len(chosen)} photos of {members} people")
        results = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
            "photos": len(chosen), "members": members,
            "models": [measure(model, csv_path, faces, len(chosen), folder) for model in args.models.split(",")],
        }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "import.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
