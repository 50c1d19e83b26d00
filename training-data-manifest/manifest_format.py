"""The clip manifest format, shared by build_manifest.py, check and fetch.

Kept in one module so that the writer, the offline checker and the fetcher
cannot disagree about columns, path notation or what counts as leakage.
Standard library only.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# Column order of clips.csv. The first eleven are the contract of issue 4; the
# rest make the labels auditable (evidence, artist, confidence) and the splits
# checkable (split_group).
COLUMNS = (
    "clip_id",
    "package",
    "version",
    "path",
    "start_s",
    "duration_s",
    "sha256",
    "genre",
    "licence",
    "source_track_id",
    "split",
    "evidence",
    "kind",
    "artist",
    "split_group",
    "confidence",
    "track_duration_s",
)
REQUIRED_COLUMNS = COLUMNS[:13]

# A file inside a zip archive (.pk3) that the package ships:
#   usr/share/games/nexuiz/data/music.pk3!/sound/cdtracks/stairs.ogg
ARCHIVE_SEP = "!/"
# A mix that is the sum of stems; sha256 lists one hash per stem in the same order:
#   .../muldjord/armygeddon/song.ogg + .../muldjord/armygeddon/guitar.ogg
STEM_SEP = " + "

SPLITS = ("train", "val", "test")
KINDS = ("real", "synthetic")
CLIP_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
GENRE_RE = re.compile(r"^[a-z0-9_]+$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SourcePart:
    """One file that contributes to a clip: a plain file or an archive member."""

    file_path: str  # inside the package, or a local path
    member: str | None  # path inside the zip archive, if any
    sha256: str | None  # None: local file without a recorded hash


def split_stems(text: str) -> list[str]:
    return [p.strip() for p in text.split(STEM_SEP)] if text else []


def source_parts(row: dict[str, str]) -> list[SourcePart]:
    paths = split_stems(row["path"])
    hashes = split_stems(row["sha256"]) if row["sha256"] else [None] * len(paths)
    parts = []
    for p, h in zip(paths, hashes):
        file_path, _, member = p.partition(ARCHIVE_SEP)
        parts.append(SourcePart(file_path, member or None, h))
    return parts


def is_local(row: dict[str, str]) -> bool:
    return row["package"] == ""


def read_manifest(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = [dict(r) for r in reader]
    return header, rows


def write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: r.get(c, "") for c in COLUMNS})


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    # Class counts below the minimum, classes absent from val/test: fatal for a
    # corpus we ship (./check), only a warning for fetching a partial/user corpus.
    coverage: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (kind, genre, split) -> clips
    tracks: dict[tuple[str, str], int] = field(default_factory=dict)  # (genre, split) -> source tracks
    test_fingerprint: str = ""


def _float(row: dict[str, str], col: str, where: str, errors: list[str]) -> float | None:
    try:
        value = float(row[col])
    except (KeyError, ValueError):
        errors.append(f"{where}: {col}={row.get(col)!r} is not a number")
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors.append(f"{where}: {col} is not finite")
        return None
    return value


def check_manifest(header: list[str], rows: list[dict[str, str]], min_real_clips_per_class: int) -> CheckResult:
    """Validate columns, ids, values and split hygiene. Offline: touches no audio."""
    res = CheckResult()
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        res.errors.append(f"missing columns: {', '.join(missing)}")
        return res
    if not rows:
        res.errors.append("manifest has no rows")
        return res

    ids = Counter(r["clip_id"] for r in rows)
    for clip_id, n in sorted(ids.items()):
        if n > 1:
            res.errors.append(f"clip_id {clip_id!r} appears {n} times")

    splits_of_track: dict[str, set[str]] = defaultdict(set)
    genres_of_track: dict[str, set[str]] = defaultdict(set)
    splits_of_group: dict[str, set[str]] = defaultdict(set)
    splits_of_file: dict[str, set[str]] = defaultdict(set)
    clips_of_track: dict[str, list[tuple[float, float]]] = defaultdict(list)
    sources_of_track: dict[str, set[tuple[str, str, str]]] = defaultdict(set)

    for line_no, r in enumerate(rows, start=2):
        where = f"line {line_no} ({r.get('clip_id', '')})"
        if not CLIP_ID_RE.match(r["clip_id"]):
            res.errors.append(f"{where}: clip_id must match {CLIP_ID_RE.pattern} (it becomes a file name)")
        if r["kind"] not in KINDS:
            res.errors.append(f"{where}: kind {r['kind']!r} not in {KINDS}")
        if r["split"] not in SPLITS:
            res.errors.append(f"{where}: split {r['split']!r} not in {SPLITS}")
        if r["kind"] == "synthetic" and r["split"] != "train":
            res.errors.append(f"{where}: synthetic clips may only augment training (split must be train)")
        if not GENRE_RE.match(r["genre"]):
            res.errors.append(f"{where}: genre {r['genre']!r} must match {GENRE_RE.pattern}")
        if not r["source_track_id"]:
            res.errors.append(f"{where}: empty source_track_id")
        if r["kind"] == "real" and not r["evidence"].strip():
            res.errors.append(f"{where}: a real clip needs evidence for its label")
        paths = split_stems(r["path"])
        if not paths or any(not p for p in paths):
            res.errors.append(f"{where}: empty path")
        if is_local(r):
            if r["version"]:
                res.errors.append(f"{where}: version given without a package")
        else:
            if not r["version"]:
                res.errors.append(f"{where}: package {r['package']!r} without version")
            if not r["licence"]:
                res.errors.append(f"{where}: package row without licence")
            if any(p.startswith("/") for p in paths):
                res.errors.append(f"{where}: path inside a package must be relative")
            if not r["sha256"]:
                res.errors.append(f"{where}: package row without sha256")
        hashes = split_stems(r["sha256"])
        if r["sha256"]:
            if len(hashes) != len(paths):
                res.errors.append(f"{where}: {len(paths)} path(s) but {len(hashes)} sha256 value(s)")
            for h in hashes:
                if not SHA256_RE.match(h):
                    res.errors.append(f"{where}: sha256 {h!r} is not 64 lowercase hex digits")
        start_s = _float(r, "start_s", where, res.errors)
        duration_s = _float(r, "duration_s", where, res.errors)
        if start_s is not None and start_s < 0:
            res.errors.append(f"{where}: negative start_s")
        if duration_s is not None and duration_s <= 0:
            res.errors.append(f"{where}: duration_s must be positive")
        if r.get("track_duration_s") and start_s is not None and duration_s is not None:
            track_s = _float(r, "track_duration_s", where, res.errors)
            if track_s is not None and start_s + duration_s > track_s + 1e-6:
                res.errors.append(f"{where}: clip ends at {start_s + duration_s:.2f} s, after the track ({track_s:.2f} s)")
        if start_s is not None and duration_s is not None:
            clips_of_track[r["source_track_id"]].append((start_s, duration_s))

        track = r["source_track_id"]
        sources_of_track[track].add((r["package"], r["path"], r["sha256"]))
        splits_of_track[track].add(r["split"])
        genres_of_track[track].add(r["genre"])
        if r.get("split_group"):
            splits_of_group[r["split_group"]].add(r["split"])
        # The same audio file must not reach two splits, even under two track ids
        # (packages share files: e.g. a SuperTux track is also in SuperTuxKart).
        for key in hashes if r["sha256"] else [f"{r['package']}:{p}" for p in paths]:
            splits_of_file[key].add(r["split"])
        key = (r["kind"], r["genre"], r["split"])
        res.counts[key] = res.counts.get(key, 0) + 1

    for track, splits in sorted(splits_of_track.items()):
        if len(splits) > 1:
            res.errors.append(f"leak: source track {track} is in splits {sorted(splits)}")
    for track, genres in sorted(genres_of_track.items()):
        if len(genres) > 1:
            res.errors.append(f"source track {track} has several genres {sorted(genres)}")
    for track, sources in sorted(sources_of_track.items()):
        if len(sources) > 1:
            res.errors.append(f"source track {track} names {len(sources)} different sources (ids must not collide)")
    for group, splits in sorted(splits_of_group.items()):
        if len(splits) > 1:
            res.errors.append(f"leak: split group {group} is in splits {sorted(splits)}")
    for key, splits in sorted(splits_of_file.items()):
        if len(splits) > 1:
            res.errors.append(f"leak: source file {key} is in splits {sorted(splits)}")
    for track, spans in sorted(clips_of_track.items()):
        spans.sort()
        for (a_start, a_len), (b_start, _) in zip(spans, spans[1:]):
            if b_start < a_start + a_len - 1e-6:
                res.warnings.append(f"clips of {track} overlap ({a_start} s and {b_start} s)")

    tracks_per = defaultdict(set)
    for r in rows:
        tracks_per[(r["genre"], r["split"])].add(r["source_track_id"])
    res.tracks = {k: len(v) for k, v in tracks_per.items()}

    genres = sorted({g for (_, g, _) in res.counts})
    for g in genres:
        real_total = sum(n for (k, gg, _), n in res.counts.items() if k == "real" and gg == g)
        if real_total < min_real_clips_per_class:
            res.coverage.append(f"class {g}: {real_total} real clips, fewer than {min_real_clips_per_class}")
        for split in ("val", "test"):
            if res.counts.get(("real", g, split), 0) == 0:
                res.coverage.append(f"class {g}: no real clips in the {split} split")

    test_ids = sorted(
        f"{r['clip_id']},{r['sha256']},{r['start_s']},{r['duration_s']},{r['genre']}" for r in rows if r["split"] == "test"
    )
    res.test_fingerprint = hashlib.sha256("\n".join(test_ids).encode()).hexdigest()
    return res


def format_counts(res: CheckResult) -> str:
    genres = sorted({g for (_, g, _) in res.counts})
    kinds = sorted({k for (k, _, _) in res.counts})
    lines = []
    for kind in kinds:
        lines.append(f"{kind} clips (source tracks):")
        lines.append(f"  {'genre':18s} " + " ".join(f"{s:>10s}" for s in SPLITS) + f" {'total':>10s}")
        for g in genres:
            cells = []
            total_clips = 0
            for s in SPLITS:
                n = res.counts.get((kind, g, s), 0)
                total_clips += n
                cells.append(f"{n:>4d} ({res.tracks.get((g, s), 0) if n else 0:>3d})")
            lines.append(f"  {g:18s} " + " ".join(f"{c:>10s}" for c in cells) + f" {total_clips:>10d}")
    return "\n".join(lines)
