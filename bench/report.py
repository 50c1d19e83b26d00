"""Turn the measured rows into docs/BENCHMARKS.md.

Every verdict here is computed from the rows, so a rerun that measures
something different says something different; nothing is typed in by hand.
"""

from __future__ import annotations

import math
import statistics

from benchsuite import (
    CEILING_DBTP,
    MP3_BITRATE,
    TARGET_LOUDNESS_ERROR_LU,
    TARGET_LUFS,
    TARGET_MEMORY_RATIO,
    TARGET_MP3_OVER_DB,
    TARGET_SPEEDUP,
    TONAL_HIGH_HZ,
    TONAL_LOW_HZ,
    TOOLS,
)


def num(row: dict[str, str] | None, key: str) -> float:
    if row is None or not row.get(key):
        return math.nan
    return float(row[key])


def by_track_tool(rows: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["track"], r["tool"]): r for r in rows}


def finite(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def targets_section(rows: list[dict[str, str]], tracks: list[str], skipped: dict[str, str]) -> list[str]:
    idx = by_track_tool(rows)
    tools = [t for t in TOOLS if any((tr, t) in idx and idx[(tr, t)].get("output_lufs") for tr in tracks)]
    out = ["## Targets (issue 6), judged from the measurements below", ""]
    out += ["| target | measured | verdict |", "|---|---|---|"]

    def ratio_line(name: str, key: str, goal: float, unit: str) -> None:
        if "lacquer-ref" not in tools or "matchering" not in tools:
            out.append(f"| {name} | not measured ({skipped.get('lacquer-ref', 'a tool is missing')}) | — |")
            return
        ratios = finite([num(idx.get((t, "matchering")), key) / num(idx.get((t, "lacquer-ref")), key) for t in tracks])
        if not ratios:
            out.append(f"| {name} | no successful pair | — |")
            return
        per = ", ".join(f"{t} {r:.1f}x" for t, r in zip(tracks, ratios))
        out.append(
            f"| {name} (≥ {goal:g}x {unit}) | min {min(ratios):.1f}x, median {statistics.median(ratios):.1f}x ({per}) "
            f"| {verdict(min(ratios) >= goal)} |"
        )

    ratio_line("`lacquer master --reference` vs Matchering, wall time", "wall_s_median", TARGET_SPEEDUP, "faster")
    ratio_line("`lacquer master --reference` vs Matchering, peak memory", "peak_rss_mb", TARGET_MEMORY_RATIO, "less")

    def worst(tool: str, key: str, absolute: bool = False) -> float:
        vals = finite([num(idx.get((t, tool)), key) for t in tracks])
        if not vals:
            return math.nan
        return max(abs(v) for v in vals) if absolute else max(vals)

    def beside(key: str, absolute: bool, skip: tuple[str, ...]) -> str:
        return ", ".join(f"{t} {worst(t, key, absolute):.2f}" for t in tools if t not in skip)

    for tool in ("lacquer-auto", "lacquer-ref"):
        if tool not in tools:
            out.append(f"| loudness error ≤ {TARGET_LOUDNESS_ERROR_LU} LU, {tool} | not measured "
                       f"({skipped.get(tool, 'no output')}) | — |")
            continue
        w = worst(tool, "loudness_error_lu", absolute=True)
        out.append(
            f"| loudness error ≤ {TARGET_LOUDNESS_ERROR_LU} LU on every track, {tool} | worst {w:.2f} LU "
            f"(worst of others: {beside('loudness_error_lu', True, (tool,))}) | {verdict(w <= TARGET_LOUDNESS_ERROR_LU)} |"
        )
    for tool in ("lacquer-auto", "lacquer-ref"):
        if tool not in tools:
            continue
        w = worst(tool, "tp_over_db")
        out.append(
            f"| zero true-peak overs (4x, {CEILING_DBTP:g} dBTP) in WAV, {tool} | worst over {w:.2f} dB "
            f"(others: {beside('tp_over_db', False, (tool,))}) | {verdict(w <= 0.0)} |"
        )
        w = worst(tool, "mp3_tp_over_db")
        out.append(
            f"| ≤ {TARGET_MP3_OVER_DB} dB over after MP3 {MP3_BITRATE}, {tool} | worst over {w:.2f} dB "
            f"(others: {beside('mp3_tp_over_db', False, (tool,))}) | {verdict(w <= TARGET_MP3_OVER_DB)} |"
        )
    if "lacquer-ref" in tools and "matchering" in tools:
        for key, label in (("tonal_mid_db", "mid"), ("tonal_side_db", "side")):
            ours = finite([num(idx.get((t, "lacquer-ref")), key) for t in tracks])
            theirs = finite([num(idx.get((t, "matchering")), key) for t in tracks])
            if ours and theirs:
                a, b = statistics.fmean(ours), statistics.fmean(theirs)
                out.append(
                    f"| tonal distance to the reference ({label}) no worse than Matchering's, mean over tracks "
                    f"| lacquer-ref {a:.2f} dB, matchering {b:.2f} dB | {verdict(a <= b)} |"
                )
        lower = []
        for t in tracks:
            ours, theirs = idx.get((t, "lacquer-ref")), idx.get((t, "matchering"))
            p_o, p_t = num(ours, "plr_db"), num(theirs, "plr_db")
            if not (math.isnan(p_o) or math.isnan(p_t)):
                gap = num(ours, "output_lufs") - num(theirs, "output_lufs")
                lower.append((t, p_o - p_t, gap))
        if lower:
            per = ", ".join(f"{t} {d:+.1f} dB (at {g:+.1f} LU)" for t, d, g in lower)
            out.append(
                f"| PLR no lower than Matchering's at the same loudness (lacquer-ref − matchering PLR, loudness gap) "
                f"| {per} | {verdict(all(d >= 0 for _, d, _ in lower))} |"
            )
            # Context for that verdict: at the reference's loudness, no master under the ceiling can have a
            # PLR above (ceiling − target); a higher one needs peaks over the ceiling or a quieter master.
            ctx = []
            for t in tracks:
                ours, theirs = idx.get((t, "lacquer-ref")), idx.get((t, "matchering"))
                cap = CEILING_DBTP - num(ours, "target_lufs")
                p_o, p_t = num(ours, "plr_db"), num(theirs, "plr_db")
                if not any(math.isnan(v) for v in (cap, p_o, p_t)):
                    ctx.append(
                        f"{t} cap {cap:.1f}: lacquer-ref {p_o:.1f}, matchering {p_t:.1f} "
                        f"(over {num(theirs, 'tp_over_db'):.1f} dB, {num(theirs, 'loudness_error_lu'):+.1f} LU)"
                    )
            if ctx:
                out.append(
                    f"| (context, not a target) highest PLR possible at the reference's loudness under "
                    f"{CEILING_DBTP:g} dBTP = ceiling − target | {'; '.join(ctx)} | — |"
                )
    else:
        out.append("| tonal distance and PLR vs Matchering | not measured (lacquer-ref or matchering missing) | — |")
    out.append("")
    return out


def track_table(rows: list[dict[str, str]], track: str) -> list[str]:
    head = (
        "| tool | wall s (median) | peak MB | LUFS-I | target | error LU | TP dBTP | over dB | TP after MP3 | over dB "
        "| tonal mid dB | tonal side dB | PLR dB | ΔPLR dB | LRA LU | ΔLRA LU | corr <150 Hz | same bytes every run |"
    )
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if r["track"] != track:
            continue
        if r.get("detail") and not r.get("output_lufs"):
            out.append(f"| {r['tool']} | failed: {r['detail'][:120]} |" + " |" * (head.count("|") - 3))
            continue
        cells = [
            r["tool"], r.get("wall_s_median", ""), r.get("peak_rss_mb", ""), r.get("output_lufs", ""),
            r.get("target_lufs", "") if r["tool"] != "input (unprocessed)" else "",
            r.get("loudness_error_lu", "") if r["tool"] != "input (unprocessed)" else "",
            r.get("true_peak_dbtp", ""), r.get("tp_over_db", ""), r.get("mp3_true_peak_dbtp", ""),
            r.get("mp3_tp_over_db", ""), r.get("tonal_mid_db", ""), r.get("tonal_side_db", ""), r.get("plr_db", ""),
            r.get("plr_change_db", ""), r.get("lra_lu", ""), r.get("lra_change_lu", ""), r.get("corr_below_150hz", ""),
            r.get("bit_identical_runs", ""),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def markdown(rows: list[dict[str, str]], ctx: dict) -> str:
    tracks = [t["id"] for t in ctx["tracks"]]
    m, v = ctx["machine"], ctx["versions"]
    out = [
        "# Benchmarks: Lacquer against Matchering and ffmpeg loudnorm",
        "",
        "Generated by `bench/run` (see `bench/README.md`); every figure below was measured in that run, and",
        "the verdicts are computed from those figures. Rerun it to check them on your machine.",
        "",
        "## Run",
        "",
        f"- command: `{ctx['command']}`, {ctx['runs']} timed run(s) per tool and track, interleaved "
        f"(round 1 runs every track × tool, then round 2, …)",
        f"- date: {ctx['started_utc']}, {ctx['duration_min']} min in all",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}",
        f"- load average (1/5/15 min) at start: {m['load_average']}; at the end: {ctx['load_average_end']}. "
        "The machine is shared with other builds, so wall times carry that load; all tools ran under the same load "
        "in the same rounds, so the ratios are fairer than the absolute times.",
        f"- lacquer: `{v['lacquer']}`, commit {v['lacquer_commit']}",
        f"- Matchering {v['matchering']} (PyPI, in the bench venv), {v['ffmpeg']}, Python {v['python']}",
        "",
    ]
    if ctx["skipped"]:
        out += ["**Not measured in this run:**", ""]
        out += [f"- {tool}: {why}" for tool, why in sorted(ctx["skipped"].items())]
        out += [""]
    out += targets_section(rows, tracks, ctx["skipped"])
    out += [
        "## Tracks",
        "",
        "Full-length tracks from Debian packages, rebuilt and sha256-verified by `bench/run` (list: `bench/tracks.csv`);",
        "each mix is paired with a reference track from another package.",
        "",
        "| id | character | mix (package: file) | reference (package: file) |",
        "|---|---|---|---|",
    ]
    for t in ctx["tracks"]:
        ref = ctx["references"][t["reference_id"]]
        out.append(
            f"| {t['id']} | {t['character']} | {t['package']}: {t['title']} ({t['artist']}, {t['licence']}), "
            f"{float(t['duration_s']):.0f} s | {ref['package']}: {ref['title']} ({ref['artist']}, {ref['licence']}), "
            f"{float(ref['duration_s']):.0f} s |"
        )
    out += [
        "",
        "## Results per track",
        "",
        f"`lacquer-auto` = `lacquer master MIX` (genre auto, Spotify preset {TARGET_LUFS:g} LUFS / {CEILING_DBTP:g} dBTP); "
        "`lacquer-ref` = `lacquer master MIX --reference REF`; `matchering` = Matchering with the same reference; "
        f"`loudnorm` = ffmpeg two-pass loudnorm to {TARGET_LUFS:g} LUFS / {CEILING_DBTP:g} dBTP, linear mode. "
        "Reference-mode tools are judged against the reference's loudness, the others against "
        f"{TARGET_LUFS:g} LUFS. Overs are dB above {CEILING_DBTP:g} dBTP (4x oversampled true peak), in the WAV and after "
        f"an MP3 round trip (ffmpeg libmp3lame {MP3_BITRATE}). Tonal distance: mean absolute difference of the "
        f"loudness-normalised 1/3-octave curves (bands {TONAL_LOW_HZ:g} Hz–{TONAL_HIGH_HZ / 1000:g} kHz) against the reference. "
        "Δ = output − input.",
        "",
    ]
    for t in tracks:
        out += [f"### {t}", ""] + track_table(rows, t) + [""]
    modes = [(r["track"], r["loudnorm_mode"]) for r in rows if r.get("loudnorm_mode")]
    if modes:
        per = ", ".join(f"{t}: {m}" for t, m in modes)
        out += [f"loudnorm's own report of the mode it used: {per}. It was asked for linear gain but falls back to "
                "its dynamic mode when the gain to the target would push the true peak over the ceiling.", ""]
    out += [
        "## Tonal curves",
        "",
        f"![tonal curves per tool]({ctx['plot']})",
        "",
        "## How it is measured",
        "",
        "- Inputs: 44.1 kHz 32-bit float WAV decoded by ffmpeg from the packaged files (stem sums are plain sums, "
        "so `dense-loud` peaks above 0 dBFS, as the source does). Every tool reads the same files.",
        "- Wall time: `/usr/bin/time -v` around each process, process start and imports included (what a user "
        "waits for); median of the runs. loudnorm's time is both passes. Peak memory: maximum resident set size, "
        "the largest over the runs.",
        "- Every output is measured with `lacquer analyze --json` (the same analysis crate for every tool: "
        "BS.1770 loudness, 4x true peak, PLR, LRA, 1/3-octave mid/side curves, correlation below 150 Hz).",
        "- Raw data: `docs/benchmarks/results.csv` (one row per track and tool), `docs/benchmarks/runs.csv` "
        "(every timed run, with the output's sha256).",
        "",
    ]
    return "\n".join(out)
