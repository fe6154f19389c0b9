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
import collections
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
    if result.returncode not in (0, 1):
        raise SystemExit(f"facegate {arguments[0]} failed (exit {result.returncode})")
    summary = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, json.loads(summary[-1]) if summary else None


def measure(model, csv_path, faces, photos, folder, export_rows=()):
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
    report = os.path.join(folder, f"report-{model}.csv")
    arguments = ["import", "members", "--csv", csv_path, "--photos", faces, "--organization", "bench-import",
                 "--report", report]
    runs = []
    for label in ("first", "again"):
        started = time.monotonic()
        status, summary = facegate(arguments, env, folder)
        wall = time.monotonic() - started
        with open(report, newline="") as f:
            outcomes = collections.Counter(
                line["outcome"] + (":" + line["code"] if line["outcome"] in ("refused", "error") else "")
                for line in csv.DictReader(f))
        runs.append({"run": label, "exit": status, "wall_seconds": round(wall, 2), "outcomes": dict(outcomes),
                     "photos_per_second": round(photos / summary["seconds"], 2),
                     "photos_per_second_wall": round(photos / wall, 2), **summary})
        log(f"{model} {label}: {photos} photos in {summary['seconds']:.1f} s ({photos / summary['seconds']:.1f}/s; "
            f"wall {wall:.1f} s with start-up): {summary}; {dict(outcomes)}")
    exports = export_checkins(name, env, folder, export_rows) if export_rows else []
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return {"model": model, "runs": runs, "export_checkins": exports}


def export_checkins(name, env, folder, totals):
    """`facegate export checkins` of the organisation topped up to each total of check-ins (one a second, spread
    over the imported members), written to /dev/null: wall time, rows/s and peak resident memory (GNU time)."""
    measured, held = [], 0
    for total in totals:
        psql(f"\\c {name}", f"""
            WITH m AS (SELECT id, organization_id, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS n
                       FROM members)
            INSERT INTO checkins (organization_id, member_id, distance, similarity, checked_in_at, dedup_until)
            SELECT m.organization_id, m.id, 0.3, 0.7, timestamptz '2025-01-01' + i * interval '1 second',
                   timestamptz '2025-01-01' + i * interval '1 second'
            FROM generate_series({held + 1}, {total}) i JOIN m ON m.k = i % m.n""",
             # As autovacuum would have by the time a table has grown so: the planner knows its size.
             "ANALYZE checkins")
        held = total
        log(f"facegate export checkins ({total} check-ins)")
        with open(os.devnull, "w") as sink:
            result = subprocess.run(["/usr/bin/time", "-f", "%M %e", os.environ["FACEGATE_BIN"], "export", "checkins",
                                     "--organization", "bench-import"], env=env, cwd=folder, text=True, stdout=sink,
                                    stderr=subprocess.PIPE, check=True)
        peak_kib, seconds = result.stderr.strip().splitlines()[-1].split()
        measured.append({"checkins": total, "seconds": float(seconds), "rows_per_second": round(total / float(seconds)),
                         "peak_rss_mib": round(int(peak_kib) / 1024, 1)})
        log(f"exported {total} check-ins in {seconds} s, peak RSS {int(peak_kib) / 1024:.1f} MiB")
    return measured


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--models", default="sface,dlib")
    parser.add_argument("--export-checkins", default="10000,1000000",
                        help="check-in totals `export checkins` is measured at (after the first model's import)")
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
            "models": [measure(model, csv_path, faces, len(chosen), folder,
                               [int(n) for n in args.export_checkins.split(",") if n] if i == 0 else ())
                       for i, model in enumerate(args.models.split(","))],
        }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "import.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
