#!/usr/bin/env python3
"""Spectral spot check of the cut clips: which labelled tracks look unlike their class?

Why: nobody has listened to the corpus, and labels rest on tags, credits and the
inventory's spectrogram checks. This repeats such a check reproducibly on the
clips we actually cut, and lists the tracks whose simple descriptors are far
from the rest of their class. It never changes a label; it orders the human
listening pass (listen to the flagged tracks first).

Descriptors per clip (ffmpeg aspectralstats on the mono mix, 1024-sample
frames): mean spectral centroid (Hz), mean spectral flatness, the coefficient
of variation of spectral flux (high for percussive, transient-rich material),
and the share of energy below 120 Hz (astats after a 4th-order 120 Hz
low-pass). Per track the clip values are averaged; a track is flagged when its
robust z-score (median/MAD within its class) exceeds FLAG_Z on any descriptor.
Needs the clips cut by `fetch`. Standard library + ffmpeg.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import manifest_format as mf  # noqa: E402

# |robust z| above this on any descriptor flags a track for listening first.
FLAG_Z = 3.0
# 1.4826 * MAD estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826
LOW_END_HZ = 120
DESCRIPTORS = ("centroid_hz", "flatness", "flux_cv", "low_share")


def _ffmpeg_lines(wav: Path, graph: str) -> list[str]:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(wav), "-af", graph, "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {wav.name}: {proc.stderr.strip()[-200:]}")
    return proc.stdout.splitlines() + proc.stderr.splitlines()


def describe(wav: Path) -> dict[str, float]:
    lines = _ffmpeg_lines(
        wav, "pan=mono|c0=0.5*c0+0.5*c1,aspectralstats=win_size=2048:overlap=0.5,ametadata=mode=print:file=-"
    )
    values: dict[str, list[float]] = {"centroid": [], "flatness": [], "flux": []}
    for ln in lines:
        m = re.match(r"lavfi\.aspectralstats\.1\.(centroid|flatness|flux)=(\S+)", ln)
        if m:
            v = float(m.group(2))
            if math.isfinite(v):
                values[m.group(1)].append(v)
    flux_mean = statistics.fmean(values["flux"])
    full = _rms_db(_ffmpeg_lines(wav, "pan=mono|c0=0.5*c0+0.5*c1,astats=measure_perchannel=none"))
    low = _rms_db(
        _ffmpeg_lines(
            wav, f"pan=mono|c0=0.5*c0+0.5*c1,lowpass=f={LOW_END_HZ},lowpass=f={LOW_END_HZ},astats=measure_perchannel=none"
        )
    )
    return {
        "centroid_hz": statistics.fmean(values["centroid"]),
        "flatness": statistics.fmean(values["flatness"]),
        "flux_cv": statistics.pstdev(values["flux"]) / flux_mean if flux_mean > 0 else 0.0,
        "low_share": 10.0 ** ((low - full) / 10.0),
    }


def _rms_db(lines: list[str]) -> float:
    for ln in lines:
        m = re.search(r"RMS level dB: (\S+)", ln)
        if m:
            return float(m.group(1))
    raise RuntimeError("astats printed no RMS level")


def robust_z(value: float, population: list[float]) -> float:
    med = statistics.median(population)
    mad = statistics.median(abs(v - med) for v in population) * MAD_TO_SIGMA
    return (value - med) / mad if mad > 0 else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=HERE / "clips.csv")
    parser.add_argument("--cache", type=Path, default=None, help="fetch's cache (default: fetch's default)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    cache = args.cache
    if cache is None:
        import os

        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lacquer" / "corpus"
    _, rows = mf.read_manifest(args.manifest)
    clips = cache / "clips"
    missing = [r["clip_id"] for r in rows if not (clips / f"{r['clip_id']}.wav").exists()]
    if missing:
        print(f"spot_check: {len(missing)} clip(s) not cut yet (run fetch first), e.g. {missing[:3]}")
        return 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        described = list(pool.map(lambda r: describe(clips / f"{r['clip_id']}.wav"), rows))

    per_track: dict[str, dict[str, list[float]]] = {}
    genre_of: dict[str, str] = {}
    for r, d in zip(rows, described):
        genre_of[r["source_track_id"]] = r["genre"]
        acc = per_track.setdefault(r["source_track_id"], {k: [] for k in DESCRIPTORS})
        for k in DESCRIPTORS:
            acc[k].append(d[k])
    track_means = {t: {k: statistics.fmean(v) for k, v in acc.items()} for t, acc in per_track.items()}

    print(f"{'class':18s} {'tracks':>6s} " + " ".join(f"{k:>12s}" for k in DESCRIPTORS) + "   (medians over tracks)")
    for genre in sorted(set(genre_of.values())):
        tracks = [t for t in track_means if genre_of[t] == genre]
        medians = [statistics.median(track_means[t][k] for t in tracks) for k in DESCRIPTORS]
        print(f"{genre:18s} {len(tracks):6d} " + " ".join(f"{m:12.3f}" for m in medians))
    print(f"\nTracks to listen to first (|robust z| > {FLAG_Z} within their class):")
    flagged = 0
    for genre in sorted(set(genre_of.values())):
        tracks = sorted(t for t in track_means if genre_of[t] == genre)
        for t in tracks:
            notes = []
            for k in DESCRIPTORS:
                z = robust_z(track_means[t][k], [track_means[u][k] for u in tracks])
                if abs(z) > FLAG_Z:
                    notes.append(f"{k}={track_means[t][k]:.3f} (z={z:+.1f})")
            if notes:
                flagged += 1
                print(f"  {genre:18s} {t}: " + ", ".join(notes))
    print(f"{flagged} of {len(track_means)} tracks flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
