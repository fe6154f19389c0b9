"""Turns benchmarks/results/throughput.json into a Markdown summary (throughput.md beside it, and the block between
the result markers of benchmarks/README.md when the results are the real ones, not a smoke run) and PNG plots.

Usage: report.py RESULTS_JSON
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
START, END = "<!-- throughput:start -->", "<!-- throughput:end -->"


def mb(value):
    return f"{value / 1e6:,.0f} MB"


def pipeline_tables(pipeline):
    lines = ["| cores | facegate photos/s (SFace / dlib) | face_recognition photos/s | ratio (SFace / dlib) | SFace ÷ dlib "
             "| facegate median photo (SFace / dlib) | face_recognition median photo | faces found (SFace / dlib / "
             "face_recognition) | face_recognition faces SFace missed | dlib faces SFace missed |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for cores, run in sorted(pipeline["cores"].items()):
        ours, dlib, theirs, faces = run["facegate"], run["facegate_dlib"], run["face_recognition"], run["faces"]
        lines.append(
            f"| {cores} | {ours['photos_per_s']:.2f} / {dlib['photos_per_s']:.2f} | {theirs['photos_per_s']:.2f} "
            f"| **{run['ratio_photos_per_s']:.1f}×** / {run['ratio_dlib_photos_per_s']:.1f}× "
            f"| {run['ratio_sface_to_dlib']:.2f}× "
            f"| {ours['stage_median_ms']['total_ms']:.0f} / {dlib['stage_median_ms']['total_ms']:.0f} ms "
            f"| {theirs['stage_median_ms']['total_ms']:.0f} ms "
            f"| {faces['facegate_faces']} / {run['faces_dlib']['facegate_faces']} / {faces['face_recognition_faces']} "
            f"| {len(faces['missed_by_facegate'])} | {len(run['faces_sface_vs_dlib']['missed_by_facegate'])} |")
    lines += ["", "Per stage, one core, one photo at a time (medians; facegate with its default model, SFace: detect is "
              "YuNet with its 5 landmarks, align is the 112 px chip, embed has flip augmentation; face_recognition: "
              "encode is landmarks + chip + embedding):", "",
              "| photo | facegate decode | detect | align | embed | whole | face_recognition decode | detect | encode "
              "| whole | ratio |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    res = pipeline["resolutions"]
    for ours, theirs in zip(res["facegate"]["per_photo"], res["face_recognition"]["per_photo"]):
        lines.append(
            f"| {ours['width']}×{ours['height']} | {ours['decode_ms']:.1f} | {ours['detect_ms']:.1f} "
            f"| {ours['align_ms']:.2f} | {ours['embed_ms']:.1f} | {ours['total_ms']:.1f} ms | {theirs['decode_ms']:.1f} "
            f"| {theirs['detect_ms']:.0f} | {theirs['encode_ms']:.1f} | {theirs['total_ms']:.0f} ms "
            f"| {theirs['total_ms'] / ours['total_ms']:.1f}× |")
    return lines


def liveness_table(liveness):
    """`facegate bench liveness`: a challenge check-in's server work beside a single photo's, one engine, one process."""
    lines = ["| check-in | frames | server time (median) | of which decoding | ÷ single photo | the check's answer |",
             "|---|---|---|---|---|---|",
             f"| single photo (largest face embedded) | 1 | {liveness['single_ms']:.1f} ms "
             f"| {liveness['single_decode_ms']:.1f} ms | 1.00× | — |"]
    for frames in sorted(liveness["challenge_ms"], key=int):
        ratio = liveness["ratio_to_single"][frames]
        shown = f"**{ratio:.2f}×**" if int(frames) == liveness["target_frames"] else f"{ratio:.2f}×"
        lines.append(f"| challenge (decode, detect every frame, check, embed 2) | {frames} "
                     f"| {liveness['challenge_ms'][frames]:.1f} ms | {liveness['challenge_decode_ms'][frames]:.1f} ms "
                     f"| {shown} | {liveness['refusals'][frames]} (asked {liveness['asked']}) |")
    return lines


def search_table(search):
    lines = ["| size | memory p50 | p99 | p99 during writes | batch-32 /query | pgvector exact p50 | exact ÷ memory "
             "| HNSW p50 | HNSW recall@5 | bandwidth bound | load |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in search["results"]:
        hnsw = f"{r['pgvector_hnsw_ms_p50']:.2f} ms" if "pgvector_hnsw_ms_p50" in r else "not built"
        recall = f"{r.get('hnsw_recall_at_5', 0):.2f}" if "pgvector_hnsw_ms_p50" in r else "—"
        lines.append(
            f"| {r['size']:,} | {r['memory_ms_p50']:.3f} ms | {r['memory_ms_p99']:.3f} | {r['memory_ms_p99_during_writes']:.3f} "
            f"| {r['memory_batch32_ms_per_query']:.3f} | {r['pgvector_exact_ms_p50']:.1f} ms "
            f"| {r['pgvector_exact_ms_p50'] / r['memory_ms_p50']:.0f}× | {hnsw} | {recall} "
            f"| {r['bandwidth_bound_ms']:.3f} ms | {r['load_seconds']:.1f} s |")
    return lines


def http_table(http):
    offline = http["offline_photos_per_s"]
    lines = [f"Offline pipeline on the same probe photos, 2 engines, largest face only: **{offline:.1f} photos/s**.", "",
             "| gallery | endpoint | clients | req/s | 2xx/s | 2xx/s ÷ offline | p50 | p95 | p99 | answers | errors "
             "| server CPU | server RSS |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for gallery in http["galleries"]:
        for endpoint, run in gallery["endpoints"].items():
            for level in run["levels"]:
                latency = level["latency_ok_ms"]
                answers = ", ".join(f"{k}: {v}" for k, v in sorted(level["statuses"].items()))
                lines.append(
                    f"| {gallery['faces']:,} | {endpoint} | {level['concurrency']} | {level['requests_per_s']:.1f} "
                    f"| {level['ok_per_s']:.1f} | {level['ok_per_s'] / offline:.0%} | {latency['p50']:.0f} ms "
                    f"| {latency['p95']:.0f} ms | {latency['p99']:.0f} ms | {answers} | {level['errors']} "
                    f"| {level.get('server_cpu_cores', 0):.2f} cores | {mb(level.get('server_rss_peak_bytes', 0))} |")
    return lines


def front_desk_table(http):
    """Each real member's probe at the kiosk once per gallery size (`throughput.py` front_desk): in by face, in with
    the member's PIN after a 202, neither (sent to the desk), or in as somebody else."""
    lines = ["| gallery | probes | in by face | in with their PIN | neither (to the desk) | as a wrong member |",
             "|---|---|---|---|---|---|"]
    for gallery in http["galleries"]:
        desk = gallery.get("front_desk")
        if not desk:
            continue
        lines.append(f"| {gallery['faces']:,} | {desk['probes']} | {desk['by_face_share']:.1%} | {desk['by_pin_share']:.1%} "
                     f"| **{desk['unresolved_share']:.1%}** | {desk['wrong_member']} |")
    return lines


def memory_table(memory):
    lines = ["| faces | start to ready | resident | peak resident |", "|---|---|---|---|"]
    for p in memory["points"]:
        lines.append(f"| {p['faces']:,} | {p['startup_seconds']:.1f} s | {mb(p['rss_bytes'])} | {mb(p['rss_peak_bytes'])} |")
    return lines


def webhooks_table(w):
    lines = ["| check-ins at concurrency " + str(w["concurrency"]) + " | ok/s | p50 | p99 |", "|---|---|---|---|"]
    for i, r in enumerate(w["without_webhook"]):
        lines.append(f"| no webhook ({'before' if i == 0 else 'after'}) | {r['ok_per_s']:.1f} | {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms |")
    r = w["with_webhook"]
    lines.append(f"| with an endpoint for checkin.recorded | {r['ok_per_s']:.1f} | {r['p50_ms']:.0f} ms "
                 f"(**{w['p50_overhead_percent']:+.1f} %**) | {r['p99_ms']:.0f} ms |")
    b = w["backlog"]
    r = b["checkins_during_drain"]
    lines.append(f"| while {b['events']:,} backlog events drain | {r['ok_per_s']:.1f} ({b['ok_per_s_change_percent']:+.1f} %) "
                 f"| {r['p50_ms']:.0f} ms (**{b['p50_slowdown_percent']:+.1f} %**) | {r['p99_ms']:.0f} ms |")
    return lines


def markdown(results):
    m = results["machine"]
    out = [f"Run {results['started_at']} on {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / 2**30:.0f} GiB, "
           f"OPENBLAS_NUM_THREADS={m['openblas_threads']}, {m['swift']}; peer face_recognition "
           f"{m['peer']['face_recognition']} on dlib {m['peer']['dlib']} (BLAS: {'yes' if m['peer']['dlib_uses_blas'] else 'no'}); "
           f"commit {m['git_commit']}; {results['seconds'] / 60:.0f} minutes.", ""]
    if results.get("ratio_vs_face_recognition") is not None:
        by = ", ".join(f"{c} core{'s' if c != '1' else ''} {r:.1f}×" for c, r in sorted(results["ratio_vs_face_recognition_by_cores"].items()))
        out += [f"**ratio_vs_face_recognition: {results['ratio_vs_face_recognition']:.1f}×** ({by}).", ""]
    if "pipeline" in results:
        p = results["pipeline"]
        out += [f"**Pipeline** on the check-in photo set ({p['checkin_set']['photos']} real one-person photos, 320–1920 px), "
                "every face embedded by both, pinned with taskset:", ""] + pipeline_tables(p) + [""]
        if "liveness" in p:
            lv = p["liveness"]
            out += [f"**Liveness challenge** (`facegate bench liveness`, one engine pinned to one core, alternating "
                    f"{lv['rounds']} rounds in one process): {lv['width']}×{lv['height']} px frames of `{lv['video']}` "
                    f"taken evenly over {lv['window_s']:g} s from "
                    f"{lv['start_s']:g} s, the single photo its first frame; target: a challenge of "
                    f"{lv['target_frames']} frames at most {lv['target_ratio']}× a single photo's server time:", ""]
            out += liveness_table(lv) + [""]
    if "search" in results:
        out += ["**Search** (`facegate bench search`, random 128-d vectors):", ""] + search_table(results["search"]) + [""]
    if "http" in results:
        e = results["http"]["enrolment"]
        out += [f"**HTTP** (`facegate bench load`, closed loop, {results['http']['galleries'][0]['endpoints']['checkins']['seconds_per_level']:.0f} s "
                f"per row; {e['members']} real members enrolled through the API plus synthetic faces up to the gallery size; "
                f"{e['probes_checked_in_correctly']} of {e['probes']} probe photos check in as the right member and are the "
                "ones posted; latencies are of 2xx answers):", ""] + http_table(results["http"]) + [""]
        challenge = results["http"].get("challenge")
        if challenge:
            checked = ", ".join(f"{turn}: {a['status']}" + (f" {a['code']}" if a.get("code") else "")
                                + (f" ({a['reason']})" if a.get("reason") else "") for turn, a in sorted(challenge["checked"].items()))
            out += [f"The row *{challenge['row']}* is the head-turn check-in: an organisation of its own with liveness "
                    f"`challenge` (the single-photo rows' organisation has it `off`: terminals that bring their own "
                    f"liveness), the clip's person enrolled and synthetic faces up to {challenge['faces']:,}; each "
                    f"request is `POST /checkins/challenges` and then the {challenge['frames']} frames of the turn it "
                    f"asks for (`{challenge['clip']}` from {challenge['start_s']:g} s, mirrored for `right`), its "
                    f"latency the pair's. Checked before the load, one each way: {checked}.", ""]
        out += ["**The front desk** (each of those probes posted once at each gallery size before the load; a 202 "
                "answered with the member's own PIN):", ""] + front_desk_table(results["http"]) + [""]
    if "webhooks" in results:
        w = results["webhooks"]
        lag, b = w["lag_ms"], w["backlog"]
        out += [f"**Webhooks** (the check-in load of `facegate bench load` at concurrency {w['concurrency']}, "
                f"{w['probes']} probes, side by side in one run; the receiver a local HTTP server answering 200; "
                "targets: at most +5 % p50 with a webhook, at most +10 % while a backlog drains"
                + (f"; this phase run on its own at commit {w['commit']}, {w['measured_at']}" if w.get("commit") else "")
                + "):", ""]
        out += webhooks_table(w) + [""]
        out += [f"Delivery lag from the event's write to the receiver under that load: p50 {lag['p50']:.0f} ms, "
                f"p99 {lag['p99']:.0f} ms ({lag['events']} events). The backlog of {b['events']:,} events drained in "
                f"{b['seconds']:.0f} s ({b['events_per_s']:.0f} events/s overall; {b['delivered_during_load']:,} during "
                "the load, when the dispatcher sends in batches, the rest after it).", ""]
    if "memory" in results:
        out += ["**Memory and start-up** (`facegate serve`, from process start to `/ready` with every face loaded):", ""]
        out += memory_table(results["memory"]) + [""]
    out += ["Plots: " + ", ".join(f"[{name}](results/{name})" for name in plots_written(results)), ""]
    return "\n".join(out)


def plots_written(results):
    names = []
    if "http" in results:
        names += ["http_throughput.png", "http_latency.png"]
    if "search" in results:
        names.append("search_latency.png")
    if "pipeline" in results:
        names.append("pipeline_stages.png")
    return names


def client_axis(ax, levels):
    """A log axis labelled with the client counts themselves."""
    ax.set_xscale("log")
    ax.set_xticks(levels, [str(level) for level in levels])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def save(fig, ax, folder, name, **labels):
    ax.set(**labels)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, name), dpi=110)
    plt.close(fig)


def plot(results, folder):
    if "http" in results:
        http = results["http"]
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for gallery in http["galleries"]:
            for endpoint, run in gallery["endpoints"].items():
                levels = run["levels"]
                ax.plot([l["concurrency"] for l in levels], [l["ok_per_s"] for l in levels], marker="o",
                        label=f"{endpoint}, {gallery['faces']:,} faces")
        ax.axhline(http["offline_photos_per_s"], color="grey", linestyle="--", label="offline pipeline, 2 engines")
        ax.axhline(0.8 * http["offline_photos_per_s"], color="grey", linestyle=":", label="80 % of offline")
        ax.set_ylim(bottom=0, top=max(http["offline_photos_per_s"] * 1.3, ax.get_ylim()[1]))
        client_axis(ax, [l["concurrency"] for l in http["galleries"][0]["endpoints"]["checkins"]["levels"]])
        save(fig, ax, folder, "http_throughput.png", xlabel="concurrent clients",
             ylabel="2xx answers per second", title="HTTP throughput vs concurrency")

        fig, axes = plt.subplots(1, len(http["galleries"]), figsize=(7 * len(http["galleries"]) / 1.4, 4.2), squeeze=False)
        for ax, gallery in zip(axes[0], http["galleries"]):
            for endpoint, run in gallery["endpoints"].items():
                levels = run["levels"]
                x = [l["concurrency"] for l in levels]
                for key, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
                    ax.plot(x, [l["latency_ok_ms"][key] for l in levels], style, marker="o", label=f"{endpoint} {key}")
            ax.axhline(1000, color="red", linewidth=0.8, label="1 s")
            client_axis(ax, x)
            ax.set(xlabel="concurrent clients", ylabel="latency of 2xx answers (ms)",
                   title=f"Latency, {gallery['faces']:,} faces")
            ax.set_ylim(bottom=0)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(folder, "http_latency.png"), dpi=110)
        plt.close(fig)

    if "search" in results:
        rows = results["search"]["results"]
        fig, ax = plt.subplots(figsize=(7, 4.2))
        sizes = [r["size"] for r in rows]
        ax.plot(sizes, [r["memory_ms_p50"] for r in rows], marker="o", label="in-memory exact (facegate)")
        ax.plot(sizes, [r["pgvector_exact_ms_p50"] for r in rows], marker="o", label="pgvector exact")
        hnsw = [(r["size"], r["pgvector_hnsw_ms_p50"]) for r in rows if "pgvector_hnsw_ms_p50" in r]
        if hnsw:
            ax.plot(*zip(*hnsw), marker="o", label="pgvector HNSW (approximate)")
        ax.plot(sizes, [r["bandwidth_bound_ms"] for r in rows], linestyle="--", color="grey",
                label="one-thread memory-bandwidth bound")
        save(fig, ax, folder, "search_latency.png", xscale="log", yscale="log", xlabel="faces",
             ylabel="p50 latency per query (ms)", title="1:N search latency vs gallery size")

    if "pipeline" in results:
        res = results["pipeline"]["resolutions"]
        labels = [f"{p['width']}×{p['height']}" for p in res["facegate"]["per_photo"]]
        fig, ax = plt.subplots(figsize=(7, 4.2))
        x = range(len(labels))
        bottom = [0.0] * len(labels)
        for key, colour in (("decode_ms", "#8da0cb"), ("detect_ms", "#fc8d62"), ("align_ms", "#e78ac3"), ("embed_ms", "#66c2a5")):
            values = [p[key] for p in res["facegate"]["per_photo"]]
            ax.bar([i - 0.2 for i in x], values, 0.38, bottom=bottom, color=colour, label=f"facegate {key[:-3]}")
            bottom = [b + v for b, v in zip(bottom, values)]
        bottom = [0.0] * len(labels)
        for key, colour in (("decode_ms", "#8da0cb"), ("detect_ms", "#fc8d62"), ("encode_ms", "#a6d854")):
            values = [p[key] for p in res["face_recognition"]["per_photo"]]
            ax.bar([i + 0.2 for i in x], values, 0.38, bottom=bottom, color=colour, hatch="//", edgecolor="white",
                   label=f"face_recognition {key[:-3]}")
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_xticks(list(x), labels)
        save(fig, ax, folder, "pipeline_stages.png", yscale="log", ylabel="ms per photo (one core)",
             title="Pipeline stages: facegate (left) vs face_recognition (hatched)")


def main():
    path = sys.argv[1]
    with open(path) as f:
        results = json.load(f)
    folder = os.path.dirname(os.path.abspath(path))
    plot(results, folder)
    text = markdown(results)
    with open(os.path.join(folder, "throughput.md"), "w") as f:
        f.write(text)
    readme = os.path.join(HERE, "README.md")
    if not results["smoke"] and folder == os.path.join(HERE, "results"):
        with open(readme) as f:
            content = f.read()
        if START in content and END in content:
            head, rest = content.split(START, 1)
            content = head + START + "\n" + text + "\n" + END + rest.split(END, 1)[1]
            with open(readme, "w") as f:
                f.write(content)
    print(text)


if __name__ == "__main__":
    main()
