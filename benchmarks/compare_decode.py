"""Prints the decode comparison from the JSON lines of alternating facegate / Pillow rounds (median over rounds)."""
import json
import statistics
import sys

rounds = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
by = {}
for run in rounds:
    who = "facegate" if run["decoder"] == "facegate" else "pillow"
    for result in run["results"]:
        for key, value in result.items():
            if isinstance(value, (int, float)) and key.endswith(("_ms", "_per_s")):
                by.setdefault((who, result["file"]), {}).setdefault(key, []).append(value)
pillow_version = next(r["decoder"] for r in rounds if r["decoder"] != "facegate")
files = sorted({file for _, file in by}, key=lambda f: int(f.split("_")[1].split("x")[0]))
med = lambda who, file, key: statistics.median(by[(who, file)][key])
print(f"median of {len(rounds) // 2} alternating rounds; Pillow = {pillow_version}")
print(f"{'file':22} {'facegate MP/s':>14} {'Pillow MP/s':>12} {'ratio':>6} | {'facegate to 640':>16} "
      f"{'Pillow resize':>14} {'Pillow thumbnail':>17} {'ratio vs thumb':>15}")
summary = []
for file in files:
    f_mps, p_mps = med("facegate", file, "megapixels_per_s"), med("pillow", file, "megapixels_per_s")
    f_small = med("facegate", file, "downscale_ms")
    p_resize, p_thumb = med("pillow", file, "downscale_ms"), med("pillow", file, "thumbnail_ms")
    print(f"{file:22} {f_mps:14.1f} {p_mps:12.1f} {f_mps / p_mps:6.2f} | {f_small:13.2f} ms {p_resize:11.2f} ms "
          f"{p_thumb:14.2f} ms {p_thumb / f_small:15.2f}")
    summary.append({"file": file, "facegate_mp_s": f_mps, "pillow_mp_s": p_mps, "facegate_to_640_ms": f_small,
                    "pillow_resize_ms": p_resize, "pillow_thumbnail_ms": p_thumb})
print(json.dumps({"decode": summary}))
