#!/usr/bin/env python3
"""Write a clip manifest for a labelled corpus already on disk (GTZAN, FMA, your own).

Why: users who own a licensed corpus should get the same manifest format, the same
checker and the same fetch/cut path as the Debian corpus, so `lacquer eval` and
the trainer never need a second code path. Expects DIR/<genre>/<audio files>
(GTZAN's layout); the genre is the folder name. Paths are written relative to
the output manifest's folder, so the corpus and manifest can move together.

Splits: whole files go to one split, chosen by a hash of the file's sha256, so
the assignment is stable when files are added. This cannot know artists: for
GTZAN, whose excerpts repeat artists, edit split_group/split by artist before
trusting test figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build_manifest as bm  # noqa: E402
import manifest_format as mf  # noqa: E402

AUDIO_EXTENSIONS = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".au", ".aiff", ".aif", ".m4a"}
# Share of files per split, by sha256-derived bucket (0-99).
TEST_PERCENT = 15
VAL_PERCENT = 15


def duration_s(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def split_for(sha256: str) -> str:
    bucket = int(sha256[:8], 16) % 100
    if bucket < TEST_PERCENT:
        return "test"
    if bucket < TEST_PERCENT + VAL_PERCENT:
        return "val"
    return "train"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir", type=Path, help="folder with one sub-folder per genre")
    parser.add_argument("--out", type=Path, required=True, help="manifest CSV to write")
    parser.add_argument("--clips-per-track", type=int, default=3)
    parser.add_argument("--licence", default="user-supplied", help="licence text for every row")
    args = parser.parse_args()
    out_dir = args.out.resolve().parent
    rows: list[dict[str, str]] = []
    skipped: list[str] = []
    for genre_dir in sorted(p for p in args.corpus_dir.iterdir() if p.is_dir()):
        genre = bm.slug(genre_dir.name).replace("-", "_")
        for file in sorted(p for p in genre_dir.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
            try:
                length_s = duration_s(file)
            except (subprocess.CalledProcessError, ValueError, KeyError, json.JSONDecodeError) as exc:
                skipped.append(f"{file}: ffprobe failed ({exc})")
                continue
            starts = bm.clip_starts_s(length_s, args.clips_per_track)
            if not starts:
                skipped.append(f"{file}: {length_s:.1f} s is too short for a {bm.CLIP_LEN_S:.0f} s clip")
                continue
            sha = mf_sha256(file)
            rel = os.path.relpath(file.resolve(), out_dir)
            track_id = f"local/{genre}/{bm.slug(file.stem)}-{sha[:8]}"
            for i, start_s in enumerate(starts):
                rows.append(
                    {
                        "clip_id": f"{track_id.replace('/', '--')}--c{i}",
                        "package": "",
                        "version": "",
                        "path": rel,
                        "start_s": f"{start_s:.1f}",
                        "duration_s": f"{bm.CLIP_LEN_S:.1f}",
                        "sha256": sha,
                        "genre": genre,
                        "licence": args.licence,
                        "source_track_id": track_id,
                        "split": split_for(sha),
                        "evidence": f"folder '{genre_dir.name}' of the user's labelled corpus",
                        "kind": "real",
                        "artist": "",
                        "split_group": f"track:{track_id}",
                        "confidence": "user",
                        "track_duration_s": f"{length_s:.2f}",
                    }
                )
    mf.write_manifest(args.out, rows)
    for s in skipped:
        print(f"skipped: {s}")
    print(f"{len(rows)} clips -> {args.out}")
    return 0 if rows else 1


def mf_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


if __name__ == "__main__":
    raise SystemExit(main())
