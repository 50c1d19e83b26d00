#!/usr/bin/env python3
"""Lacquer against the tools a user would otherwise reach for, on the same real tracks.

Why: "fast", "accurate" and "sounds like the reference" are only claims until
anyone can rerun the comparison on their own machine. This script rebuilds the
exact full-length tracks from Debian packages (sha256-verified through the
corpus fetcher), runs every tool on the same files in interleaved rounds (so
machine-load drift hits all tools alike), measures every output with Lacquer's
own analysis and writes the tables, CSVs and a plot. The numbers it writes are
the numbers it measured; targets are judged from them, never typed in.

Standard library only; Matchering and matplotlib live in a venv this script
makes under the bench cache.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import importlib.machinery
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MATCHERING_VERSION = "2.0.6"

# What every tool is asked for (and judged against): Spotify's preset.
TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
# Tonal distance window: below 40 Hz the 1/3-octave bands of a few minutes of
# music hold too few cycles to be stable; above 16 kHz lossy sources are empty.
TONAL_LOW_HZ = 40.0
TONAL_HIGH_HZ = 16000.0
# MP3 round trip: what a streaming/download shop would make of the master.
MP3_BITRATE = "320k"
# Targets of issue 6, judged from the measurements.
TARGET_SPEEDUP = 20.0
TARGET_MEMORY_RATIO = 5.0
TARGET_LOUDNESS_ERROR_LU = 0.1
TARGET_MP3_OVER_DB = 0.3

TOOLS = ("lacquer-auto", "lacquer-ref", "matchering", "loudnorm")
# Which tools aim at the reference's loudness instead of TARGET_LUFS.
REFERENCE_MODE = {"lacquer-auto": False, "lacquer-ref": True, "matchering": True, "loudnorm": False}
QUICK_TRACKS = ("electronic", "orchestral")
PLOT_TRACK = "electronic"


def log(msg: str) -> None:
    print(msg, flush=True)


def default_bench_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lacquer" / "bench"


def load_fetch_module():
    """The corpus fetcher (no .py suffix) is reused for apt, sha256 checks and decoding."""
    path = REPO / "training-data-manifest" / "fetch"
    loader = importlib.machinery.SourceFileLoader("lacquer_corpus_fetch", str(path))
    spec = importlib.util.spec_from_loader("lacquer_corpus_fetch", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    loader.exec_module(module)
    return module


# ---------------------------------------------------------------- tracks


@dataclass
class Track:
    row: dict[str, str]
    wav: Path | None = None

    @property
    def id(self) -> str:
        return self.row["id"]


def read_tracks(path: Path) -> dict[str, Track]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["id"]: Track(dict(r)) for r in csv.DictReader(fh)}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def wav_frames(path: Path) -> int:
    """Frames of a float32 stereo WAV, read from its header (no sample parsing)."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a RIFF/WAVE file")
        block_align = None
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise ValueError(f"{path}: no data chunk")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = fh.read(size + (size & 1))
                block_align = struct.unpack("<H", body[12:14])[0]
            elif cid == b"data":
                if not block_align:
                    raise ValueError(f"{path}: data before fmt")
                return size // block_align
            else:
                fh.seek(size + (size & 1), 1)


def prepare_tracks(tracks: list[Track], bench_cache: Path, fetch) -> None:
    """Full tracks as 44.1 kHz float WAV, rebuilt from verified package files."""
    corpus_cache = fetch.default_cache()
    apt = fetch.Apt(corpus_cache)
    sources = fetch.Sources(corpus_cache, REPO / "training-data-manifest")
    out_dir = bench_cache / "tracks"
    out_dir.mkdir(parents=True, exist_ok=True)
    for track in tracks:
        row = track.row
        recipe = {k: row[k] for k in ("package", "version", "path", "sha256", "duration_s")}
        recipe["fetch_recipe_version"] = fetch.RECIPE_VERSION
        wav = out_dir / f"{track.id}.wav"
        meta = out_dir / f"{track.id}.json"
        if wav.exists() and meta.exists():
            info = json.loads(meta.read_text())
            if info.get("recipe") == recipe and info.get("wav_sha256") == sha256_file(wav):
                track.wav = wav
                log(f"  {track.id}: cached, verified")
                continue
        state = apt.ensure(row["package"], row["version"])
        if state.error:
            raise SystemExit(f"bench: {track.id}: {state.error}")
        inputs = []
        parts = fetch.mf.source_parts({"path": row["path"], "sha256": row["sha256"]})
        for part in parts:
            checked = sources.check(state.dir, part)
            if checked.status:
                raise SystemExit(f"bench: {track.id}: {checked.status}: {checked.detail}")
            inputs.append(checked.path)
        duration_s = float(row["duration_s"])
        tmp = out_dir / f".{track.id}.partial.wav"
        cmd = fetch.ffmpeg_command(inputs, 0.0, duration_s, tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise SystemExit(f"bench: {track.id}: ffmpeg failed: {proc.stderr.strip()[-400:]}")
        frames = wav_frames(tmp)
        expected = round(duration_s * fetch.OUTPUT_RATE_HZ)
        if frames != expected:
            tmp.unlink(missing_ok=True)
            raise SystemExit(f"bench: {track.id}: {frames} frames decoded, {expected} expected")
        tmp.rename(wav)
        meta.write_text(json.dumps({"recipe": recipe, "wav_sha256": sha256_file(wav)}, indent=1, sort_keys=True) + "\n")
        track.wav = wav
        log(f"  {track.id}: decoded {duration_s:.0f} s from {row['package']} (sha256 verified)")


# ---------------------------------------------------------------- tools


@dataclass
class RunResult:
    wall_s: float
    peak_rss_mb: float
    ok: bool
    detail: str = ""
    output_sha256: str = ""
    extra: dict[str, str] = field(default_factory=dict)


MAX_RSS_RE = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")


def timed(cmd: list[str], log_path: Path) -> tuple[float, float, int, str]:
    """Run under /usr/bin/time -v: (wall seconds, peak RSS MB, exit status, stderr)."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - started
    log_path.write_text(f"$ {' '.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    match = MAX_RSS_RE.search(proc.stderr)
    rss_mb = int(match.group(1)) / 1024.0 if match else math.nan
    return wall_s, rss_mb, proc.returncode, proc.stderr


def lacquer_master_available(lacquer: Path) -> tuple[bool, str]:
    proc = subprocess.run([str(lacquer), "master", "--help"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        return False, f"`lacquer master --help` failed: {tail[0] if tail else proc.returncode}"
    return True, ""


def run_lacquer(lacquer: Path, mix: Path, ref: Path | None, out: Path, work: Path) -> RunResult:
    report = out.with_suffix(".report.json")
    cmd = [str(lacquer), "master", str(mix), "-o", str(out), "--bit-depth", "24", "--force",
           "--allow-gate-fail", "--jobs", "1", "--report", str(report)]
    if ref is not None:
        cmd += ["--reference", str(ref)]
    wall_s, rss_mb, rc, stderr = timed(cmd, work / f"{out.stem}.log")
    if rc != 0 or not out.exists():
        return RunResult(wall_s, rss_mb, False, f"exit {rc}: {stderr.strip()[-300:]}")
    return RunResult(wall_s, rss_mb, True, output_sha256=sha256_file(out), extra=lacquer_report_summary(report))


def plain_number(value) -> str:
    """Unit newtypes may serialise as a bare number or as a one-field object."""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return f"{value:.2f}" if isinstance(value, (int, float)) else ""


def lacquer_report_summary(report: Path) -> dict[str, str]:
    """What lacquer says it aimed at and how its own gate judged the master."""
    try:
        rep = json.loads(report.read_text())
    except (OSError, json.JSONDecodeError):
        return {"gate": "no report"}
    if not isinstance(rep, dict):
        return {"gate": "unreadable report"}
    extra = {"engine_runtime_s": plain_number(rep.get("runtime_seconds"))}
    gate = rep.get("gate") or {}
    failed = sorted(c.get("name", "?") for c in gate.get("checks", []) if c.get("status") == "fail")
    extra["gate"] = "pass" if gate.get("passed") else "fail: " + " ".join(failed)
    target = (rep.get("plan") or {}).get("target") or {}
    extra["lacquer_target_lufs"] = plain_number(target.get("integrated_lufs"))
    extra["lacquer_ceiling_dbtp"] = plain_number(target.get("ceiling_dbtp"))
    blend = (rep.get("plan") or {}).get("profile_blend") or []
    extra["lacquer_profiles"] = " ".join(
        f"{b[0]}:{b[1]:.2f}" for b in blend if isinstance(b, list) and len(b) == 2 and isinstance(b[1], (int, float))
    )
    return extra


def run_matchering(python: Path, mix: Path, ref: Path, out: Path, work: Path) -> RunResult:
    cmd = [str(python), str(HERE / "matchering_one.py"), str(mix), str(ref), str(out)]
    wall_s, rss_mb, rc, stderr = timed(cmd, work / f"{out.stem}.log")
    if rc != 0 or not out.exists():
        return RunResult(wall_s, rss_mb, False, f"exit {rc}: {stderr.strip()[-300:]}")
    return RunResult(wall_s, rss_mb, True, output_sha256=sha256_file(out))


def last_json_object(text: str) -> dict:
    end = text.rfind("}")
    start = text.rfind("{", 0, end)
    return json.loads(text[start : end + 1])


def run_loudnorm(mix: Path, out: Path, work: Path) -> RunResult:
    """ffmpeg's two-pass EBU R128 normaliser, linear mode: the plain-gain baseline."""
    # LRA target at its 50 LU maximum: a lower one makes loudnorm fall back to its
    # dynamic mode on dynamic tracks, and the baseline is meant to be plain gain.
    base = f"loudnorm=I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=50"
    ff = ["ffmpeg", "-nostdin", "-hide_banner", "-y"]
    cmd1 = [*ff, "-i", str(mix), "-af", f"{base}:print_format=json", "-f", "null", "-"]
    wall1, rss1, rc1, err1 = timed(cmd1, work / f"{out.stem}.pass1.log")
    if rc1 != 0:
        return RunResult(wall1, rss1, False, f"pass 1 exit {rc1}: {err1.strip()[-300:]}")
    try:
        m = last_json_object(err1)
    except (ValueError, json.JSONDecodeError) as exc:
        return RunResult(wall1, rss1, False, f"pass 1 printed no JSON: {exc}")
    second = (
        f"{base}:measured_I={m['input_i']}:measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}"
        f":measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true:print_format=json"
    )
    tmp = out.with_name(out.stem + ".partial.wav")
    cmd2 = [*ff, "-i", str(mix), "-af", second, "-ar", "44100", "-c:a", "pcm_s24le", str(tmp)]
    wall2, rss2, rc2, err2 = timed(cmd2, work / f"{out.stem}.pass2.log")
    if rc2 != 0:
        tmp.unlink(missing_ok=True)
        return RunResult(wall1 + wall2, max(rss1, rss2), False, f"pass 2 exit {rc2}: {err2.strip()[-300:]}")
    tmp.replace(out)
    try:
        mode = last_json_object(err2).get("normalization_type", "")
    except (ValueError, json.JSONDecodeError):
        mode = ""
    return RunResult(wall1 + wall2, max(rss1, rss2), True, output_sha256=sha256_file(out), extra={"loudnorm_mode": mode})


def ensure_venv(bench_cache: Path) -> Path:
    venv = bench_cache / "venv"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import matchering, matplotlib; print(matchering.__version__)"]
    if python.exists():
        proc = subprocess.run(probe, capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip() == MATCHERING_VERSION:
            return python
    log(f"  making the venv {venv} (matchering=={MATCHERING_VERSION}, matplotlib)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"matchering=={MATCHERING_VERSION}", "matplotlib"],
                   check=True)
    return python


# ---------------------------------------------------------------- measuring


def analyze(lacquer: Path, path: Path) -> dict:
    proc = subprocess.run([str(lacquer), "analyze", str(path), "--json"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"lacquer analyze {path} failed: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout)[0]["analysis"]


def mp3_round_trip_true_peak(lacquer: Path, wav: Path) -> float:
    mp3 = wav.with_suffix(".mp3")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
           "-c:a", "libmp3lame", "-b:a", MP3_BITRATE, str(mp3)]
    subprocess.run(cmd, check=True, capture_output=True)
    return analyze(lacquer, mp3)["loudness"]["max_true_peak_dbtp"]


def normalised_curve(a: dict, key: str) -> list[tuple[float, float]]:
    """The 1/3-octave curve in the tonal window, shifted by the track's loudness."""
    tonal = a["tonal"]
    lufs = a["loudness"]["integrated_lufs"]
    return [
        (hz, db - lufs)
        for hz, db in zip(tonal["third_octave_centres_hz"], tonal[key])
        if TONAL_LOW_HZ <= hz <= TONAL_HIGH_HZ and db > tonal["floor_db"]
    ]


def tonal_distance_db(a: dict, ref: dict, key: str) -> float:
    mine = dict(normalised_curve(a, key))
    theirs = dict(normalised_curve(ref, key))
    common = sorted(set(mine) & set(theirs))
    if not common:
        return math.nan
    return statistics.fmean(abs(mine[hz] - theirs[hz]) for hz in common)


def measure(lacquer: Path, wav: Path, mix_a: dict, ref_a: dict, reference_mode: bool) -> dict[str, float]:
    a = analyze(lacquer, wav)
    loud = a["loudness"]
    target = ref_a["loudness"]["integrated_lufs"] if reference_mode else TARGET_LUFS
    tp = loud["max_true_peak_dbtp"]
    tp_mp3 = mp3_round_trip_true_peak(lacquer, wav)
    return {
        "target_lufs": target,
        "output_lufs": loud["integrated_lufs"],
        "loudness_error_lu": loud["integrated_lufs"] - target,
        "true_peak_dbtp": tp,
        "tp_over_db": max(0.0, tp - CEILING_DBTP),
        "mp3_true_peak_dbtp": tp_mp3,
        "mp3_tp_over_db": max(0.0, tp_mp3 - CEILING_DBTP),
        "tonal_mid_db": tonal_distance_db(a, ref_a, "mid_db"),
        "tonal_side_db": tonal_distance_db(a, ref_a, "side_db"),
        "plr_db": loud["plr_db"],
        "plr_change_db": loud["plr_db"] - mix_a["loudness"]["plr_db"],
        "lra_lu": loud["loudness_range_lu"],
        "lra_change_lu": loud["loudness_range_lu"] - mix_a["loudness"]["loudness_range_lu"],
        "corr_below_150hz": a["stereo"]["correlation_below_150hz"],
    }, a


# ---------------------------------------------------------------- machine + versions


def command_output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine_info() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem_gb,
        "kernel": platform.release(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def source_commit() -> str:
    """The checkout's commit, and whether crates/ differed from it."""
    commit = command_output(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"])
    dirty = command_output(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "crates"])
    return commit + (" (crates/ had uncommitted changes)" if dirty else "")


def versions(lacquer: Path, python: Path, commit: str) -> dict[str, str]:
    return {
        "lacquer": command_output([str(lacquer), "--version"]),
        "lacquer_commit": commit,
        "matchering": command_output([str(python), "-c", "import matchering; print(matchering.__version__)"]),
        "ffmpeg": command_output(["ffmpeg", "-version"]).split(" Copyright")[0] if shutil.which("ffmpeg") else "",
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------- main


def fmt(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {', '.join(QUICK_TRACKS)} x 1 run, "
                        "results under the bench cache, docs/ untouched")
    parser.add_argument("--runs", type=int, help="timed runs per tool and track (default 3; 1 with --quick)")
    parser.add_argument("--tracks", help="comma-separated track ids (default: every mix in bench/tracks.csv)")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}")
    parser.add_argument("--lacquer", type=Path, default=REPO / "target" / "release" / "lacquer")
    parser.add_argument("--cache", type=Path, default=default_bench_cache())
    parser.add_argument("--out", type=Path, help="results folder (default docs/ for a full run)")
    args = parser.parse_args()

    runs = args.runs or (1 if args.quick else 3)
    bench_cache = args.cache.expanduser().resolve()
    bench_cache.mkdir(parents=True, exist_ok=True)
    out_root = args.out or (bench_cache / "quick" if args.quick else REPO / "docs")
    started_utc = dt.datetime.now(dt.timezone.utc)
    machine = machine_info()
    log(f"bench: {started_utc:%Y-%m-%d %H:%M} UTC, {machine['nproc']} CPUs, load {machine['load_average']}")

    built = args.lacquer.resolve()
    if not built.exists():
        log(f"bench: {built} does not exist: run `cargo build --release --bin lacquer` first")
        return 1
    # A private copy: a rebuild during the run must not change the binary halfway.
    lacquer = bench_cache / "lacquer-under-test"
    shutil.copy2(built, lacquer)
    # Taken with the copy: the checkout may move on while the run goes.
    commit = source_commit()
    all_tracks = read_tracks(HERE / "tracks.csv")
    mixes = sorted(t for t, tr in all_tracks.items() if tr.row["role"] == "mix")
    wanted = args.tracks.split(",") if args.tracks else (list(QUICK_TRACKS) if args.quick else mixes)
    unknown = [t for t in wanted if t not in mixes]
    if unknown:
        log(f"bench: unknown track id(s) {unknown}; mixes are {mixes}")
        return 2
    tools = [t for t in args.tools.split(",") if t]
    bad_tools = [t for t in tools if t not in TOOLS]
    if bad_tools:
        log(f"bench: unknown tool(s) {bad_tools}; tools are {list(TOOLS)}")
        return 2

    skipped: dict[str, str] = {}
    if any(t.startswith("lacquer") for t in tools):
        ok, why = lacquer_master_available(lacquer)
        if not ok:
            for t in tools:
                if t.startswith("lacquer"):
                    skipped[t] = why
            tools = [t for t in tools if not t.startswith("lacquer")]
            log(f"bench: lacquer columns skipped: {why}")

    log("bench: preparing tracks")
    fetch = load_fetch_module()
    needed = sorted({*wanted, *(all_tracks[t].row["reference_id"] for t in wanted)})
    prepare_tracks([all_tracks[t] for t in needed], bench_cache, fetch)
    python = ensure_venv(bench_cache)

    work = bench_cache / "work"
    work.mkdir(exist_ok=True)
    run_rows: list[dict[str, str]] = []
    results: dict[tuple[str, str], list[RunResult]] = {}
    # Interleaved: round r runs every track x tool once, so load drift spreads evenly.
    for r in range(1, runs + 1):
        for track_id in wanted:
            mix = all_tracks[track_id]
            ref = all_tracks[mix.row["reference_id"]]
            for tool in tools:
                out = work / f"{track_id}.{tool}.wav"
                if tool == "lacquer-auto":
                    res = run_lacquer(lacquer, mix.wav, None, out, work)
                elif tool == "lacquer-ref":
                    res = run_lacquer(lacquer, mix.wav, ref.wav, out, work)
                elif tool == "matchering":
                    res = run_matchering(python, mix.wav, ref.wav, out, work)
                else:
                    res = run_loudnorm(mix.wav, out, work)
                results.setdefault((track_id, tool), []).append(res)
                log(f"  run {r}/{runs} {track_id:15s} {tool:13s} {res.wall_s:7.2f} s {res.peak_rss_mb:7.1f} MB"
                    + ("" if res.ok else f"  FAILED: {res.detail}"))
                run_rows.append({
                    "track": track_id, "tool": tool, "run": str(r), "ok": str(res.ok).lower(),
                    "wall_s": fmt(res.wall_s, 3), "peak_rss_mb": fmt(res.peak_rss_mb, 1),
                    "output_sha256": res.output_sha256, "detail": res.detail,
                })

    log("bench: measuring outputs")
    rows: list[dict[str, str]] = []
    curves: dict[str, dict[str, list]] = {}
    for track_id in wanted:
        mix = all_tracks[track_id]
        ref = all_tracks[mix.row["reference_id"]]
        mix_a = analyze(lacquer, mix.wav)
        ref_a = analyze(lacquer, ref.wav)
        base = {"track": track_id, "reference": ref.id}
        m_in, _ = measure(lacquer, mix.wav, mix_a, ref_a, reference_mode=False)
        rows.append({**base, "tool": "input (unprocessed)", **{k: fmt(v) for k, v in m_in.items()}})
        track_curves = {"reference": normalised_curve(ref_a, "mid_db"), "input": normalised_curve(mix_a, "mid_db")}
        track_curves_side = {"reference": normalised_curve(ref_a, "side_db"), "input": normalised_curve(mix_a, "side_db")}
        for tool in tools:
            runs_of = results[(track_id, tool)]
            good = [x for x in runs_of if x.ok]
            row = {**base, "tool": tool, "runs_ok": f"{len(good)}/{len(runs_of)}"}
            if good:
                row["wall_s_median"] = fmt(statistics.median(x.wall_s for x in good), 3)
                row["peak_rss_mb"] = fmt(max(x.peak_rss_mb for x in good), 1)
                row["bit_identical_runs"] = str(len({x.output_sha256 for x in good}) == 1).lower()
                for x in good[-1:]:
                    row.update(x.extra)
                m, a = measure(lacquer, work / f"{track_id}.{tool}.wav", mix_a, ref_a, REFERENCE_MODE[tool])
                row.update({k: fmt(v) for k, v in m.items()})
                track_curves[tool] = normalised_curve(a, "mid_db")
                track_curves_side[tool] = normalised_curve(a, "side_db")
            else:
                row["detail"] = runs_of[-1].detail
            rows.append(row)
        curves[track_id] = {"mid": track_curves, "side": track_curves_side}

    out_root.mkdir(parents=True, exist_ok=True)
    data_dir = out_root / "benchmarks"
    data_dir.mkdir(parents=True, exist_ok=True)
    write_csv(data_dir / "results.csv", rows)
    write_csv(data_dir / "runs.csv", sorted(run_rows, key=lambda r: (r["track"], TOOLS.index(r["tool"]), int(r["run"]))))
    plot_track = PLOT_TRACK if PLOT_TRACK in curves else wanted[0]
    curve_json = bench_cache / "work" / "curves.json"
    curve_json.write_text(json.dumps({"track": plot_track, "curves": curves[plot_track]}, indent=1))
    png = data_dir / f"tonal-{plot_track}.png"
    subprocess.run([str(python), str(HERE / "plot_tonal.py"), str(curve_json), str(png)], check=True)

    import report  # noqa: E402  (bench/report.py, beside this file)

    finished_utc = dt.datetime.now(dt.timezone.utc)
    context = {
        "started_utc": f"{started_utc:%Y-%m-%d %H:%M} UTC",
        "duration_min": f"{(finished_utc - started_utc).total_seconds() / 60:.1f}",
        "machine": machine,
        "load_average_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": versions(lacquer, python, commit),
        "runs": runs,
        "tracks": [all_tracks[t].row for t in wanted],
        "references": {all_tracks[t].row["reference_id"]: all_tracks[all_tracks[t].row["reference_id"]].row for t in wanted},
        "skipped": skipped,
        "plot": png.relative_to(out_root).as_posix(),
        "command": "bench/run" + ("" if not sys.argv[1:] else " " + " ".join(sys.argv[1:])),
    }
    md = out_root / "BENCHMARKS.md"
    md.write_text(report.markdown(rows, context))
    log(f"bench: wrote {md}, {data_dir / 'results.csv'}, {data_dir / 'runs.csv'}, {png}")
    return 0


CSV_COLUMNS = (
    "track", "reference", "tool", "runs_ok", "wall_s_median", "peak_rss_mb", "bit_identical_runs",
    "target_lufs", "output_lufs", "loudness_error_lu", "true_peak_dbtp", "tp_over_db", "mp3_true_peak_dbtp",
    "mp3_tp_over_db", "tonal_mid_db", "tonal_side_db", "plr_db", "plr_change_db", "lra_lu", "lra_change_lu",
    "corr_below_150hz", "gate", "lacquer_target_lufs", "lacquer_ceiling_dbtp", "lacquer_profiles", "engine_runtime_s",
    "loudnorm_mode", "detail",
)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    columns = CSV_COLUMNS if "tool" in rows[0] and "run" not in rows[0] else list(rows[0].keys())
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
