#!/usr/bin/env python3
"""Regenerate clips.csv from the research inventory and the labelling rules below.

Why a generator instead of a hand-edited CSV: every label decision lives in one
reviewable table (LABEL_RULES) with its evidence, and clip placement and split
assignment are deterministic functions of it, so a relabel is a one-line change
whose consequences (counts, splits) are recomputed rather than patched by hand.

Input: the inventory's audio_files.tsv (package, version, path, duration, sha256,
tags) -- default /work/shared/corpus/audio_files.tsv. Output: clips.csv next to
this script. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import manifest_format as mf  # noqa: E402

# 10 s clips: long enough for several 3-s log-mel patches and for tempo/groove
# (4-5 bars at 100-120 bpm), short enough that a 2-minute game loop still yields
# clips from distinct sections. It matches the inventory's plan.
CLIP_LEN_S = 10.0
# Clips are placed inside [15 %, 85 %] of the track to skip intros, fade-outs and
# the silence that game music often carries at both ends.
WINDOW_START_FRAC = 0.15
WINDOW_END_FRAC = 0.85

# Shorter files are jingles and stingers, not pieces of music (the inventory's
# definition of a track).
MIN_TRACK_S = 30.0

# Clips per source track, per class. Clips from one track are strongly correlated,
# so the cap keeps long tracks from dominating; metal_rock has only 8 songs and
# gets more clips per song so the class reaches 40 clips (its *effective* sample
# size is still 8 songs -- see README).
CLIPS_PER_TRACK_CAP = {
    "orchestral": 2,
    "ambient": 2,
    "electronic": 3,
    "chiptune_tracker": 3,
    "metal_rock": 6,
}

# Target share of each class's clips per split (the rest is train).
TEST_SHARE = 0.20
VAL_SHARE = 0.15

SPLIT_GROUP_BY_ARTIST = "artist"
SPLIT_GROUP_BY_ALBUM = "album"
SPLIT_GROUP_BY_PACKAGE = "package"
SPLIT_GROUP_BY_TRACK = "track"


@dataclass(frozen=True)
class LabelRule:
    """One labelling decision: which files, which genre, and why."""

    package: str
    path_regex: str
    genre: str
    confidence: str
    evidence: str
    licence: str
    split_group_by: str
    artist: str | None = None  # None: take the ARTIST tag from the inventory
    album: str | None = None  # used when split_group_by == album
    stems: tuple[str, ...] = ()  # Frets on Fire: the mix is the sum of these files


WESNOTH = "usr/share/games/wesnoth/1.16/data/core/music/"
UFOAI_PK3 = "usr/share/games/ufoai/base/0music.pk3" + mf.ARCHIVE_SEP
NEXUIZ_PK3 = "usr/share/games/nexuiz/data/music.pk3" + mf.ARCHIVE_SEP
WZ = "usr/share/games/warzone2100/music/albums/"
FOF = "usr/share/games/fretsonfire/data/songs/"
PINGUS = "usr/share/games/pingus/data/music/"

# Tracks of the inventory NOT matched here are not labelled: game_mixed material,
# tracks without credits, near-duplicates, SFX. The README lists what was dropped.
LABEL_RULES: tuple[LabelRule, ...] = (
    # ---------------- orchestral / cinematic ----------------
    LabelRule(
        "wesnoth-1.16-music", re.escape(WESNOTH) + r"[^/]+\.ogg", "orchestral", "high",
        "Vorbis GENRE tag 'Romantic Classical', ALBUM 'The Battle for Wesnoth OST', composer credited in ARTIST tag",
        "GPL-2+", SPLIT_GROUP_BY_ARTIST,
    ),
    LabelRule(
        "ufoai-music", re.escape(UFOAI_PK3) + r"music/van_[a-z0-9]+\.ogg", "orchestral", "medium",
        "UFO:AI soundtrack by Manuel 'Vanethian' Marino (van_ prefix; van_theme/van_mission carry GENRE 'Soundtrack'); "
        "inventory spectrogram check: cinematic orchestral, no beat grid",
        "CC-BY-3.0", SPLIT_GROUP_BY_ARTIST, artist="Manuel 'Vanethian' Marino",
    ),
    # ---------------- electronic ----------------
    LabelRule(
        "nexuiz-music", re.escape(NEXUIZ_PK3) + r"sound/cdtracks/(?!thunder|northern-lights)[^/]+\.ogg", "electronic", "medium",
        "Nexuiz OST (techno/trance/industrial); credited composer in ARTIST tag (elysis, blkrbt, Parapraxis, meoblast001); "
        "inventory: loud masters with visible beat grid; Parapraxis track tagged 'Electronic'",
        "GPL-2+", SPLIT_GROUP_BY_ARTIST,
    ),
    LabelRule(
        "colobot-common-sounds", r"usr/share/games/colobot/music/(Constructive|Humanitarian|Hv2|Infinite|Proton|Prototype|Quite)\.ogg",
        "electronic", "medium",
        "ARTIST Emxx52, ALBUM 'Colobot: Gold Edition'; inventory spectrogram check: beat-driven electronic",
        "GPL-3+", SPLIT_GROUP_BY_ARTIST,
    ),
    LabelRule(
        "supertuxkart-data", r"usr/share/games/supertuxkart/data/music/valley\.ogg", "electronic", "high",
        "ARTIST DJ Helium, GENRE tag 'Electronic'",
        "CC-BY-SA-3.0", SPLIT_GROUP_BY_ARTIST,
    ),
    LabelRule(
        "supertuxkart-data", r"usr/share/games/supertuxkart/data/music/garden\.ogg", "electronic", "medium",
        "ARTIST DJ Helium (his other STK track is tagged 'Electronic'); no genre tag of its own",
        "CC-BY-SA-3.0", SPLIT_GROUP_BY_ARTIST,
    ),
    LabelRule(
        "supertuxkart-data", r"usr/share/games/supertuxkart/data/music/SkyVibe-HighFrequency\.ogg", "electronic", "medium",
        "ARTIST Speedsound, GENRE tag 'Psychedelic' (psytrance), ALBUM 'Friendship Vol.01'",
        "CC-BY-SA-3.0", SPLIT_GROUP_BY_ARTIST, artist="Speedsound",
    ),
    # ---------------- ambient ----------------
    LabelRule(
        "warzone2100-music", re.escape(WZ) + r"aftermath_soundtrack/[^/]+\.opus", "ambient", "medium",
        "LupusMechanicus 'aftermath' album (album license.txt credit); no genre tag; inventory spectrogram check: "
        "dark ambient, long (5-14 min) tracks, low centroid, 60-78 % of energy below 120 Hz. Opus ~47 kb/s",
        "CC-BY-SA-3.0+", SPLIT_GROUP_BY_ALBUM, artist="LupusMechanicus", album="warzone2100 aftermath",
    ),
    LabelRule(
        "warzone2100-music", re.escape(WZ) + r"legacy_soundtrack/[^/]+\.opus", "ambient", "medium",
        "LupusMechanicus 'legacy' album (album license.txt credit); no genre tag; inventory spectrogram check: "
        "dark ambient, long (5-14 min) tracks, low centroid, 60-78 % of energy below 120 Hz. Opus ~47 kb/s",
        "CC-BY-SA-3.0+", SPLIT_GROUP_BY_ALBUM, artist="LupusMechanicus", album="warzone2100 legacy",
    ),
    LabelRule(
        "ufoai-music", re.escape(UFOAI_PK3) + r"music/PsymongN\d\.ogg", "ambient", "medium",
        "debian/copyright credits Simon Green (Psymong); inventory spectrogram check: ambient electronic (pads, no beat grid)",
        "GPL-2", SPLIT_GROUP_BY_ALBUM, artist="Simon Green (Psymong)", album="Psymong N series",
    ),
    LabelRule(
        "ufoai-music", re.escape(UFOAI_PK3) + r"music/PsymongO\d\.ogg", "ambient", "medium",
        "debian/copyright credits Simon Green (Psymong); inventory spectrogram check: ambient electronic (pads, no beat grid)",
        "GPL-2", SPLIT_GROUP_BY_ALBUM, artist="Simon Green (Psymong)", album="Psymong O series",
    ),
    LabelRule(
        "ufoai-music", re.escape(UFOAI_PK3) + r"music/PsymongR\d\.ogg", "ambient", "medium",
        "debian/copyright credits Simon Green (Psymong); inventory spectrogram check: ambient electronic (pads, no beat grid)",
        "GPL-2", SPLIT_GROUP_BY_ALBUM, artist="Simon Green (Psymong)", album="Psymong R series",
    ),
    LabelRule(
        "singularity-music", r"usr/share/games/singularity/music/[^/]+\.ogg", "ambient", "medium",
        "ARTIST Maxstack, ALBUM 'Endgame: Singularity' OST; inventory spectrogram check: ambient electronic/IDM "
        "(pads and sweeps, soft beats) -- borders electronic",
        "CC-BY-SA-3.0", SPLIT_GROUP_BY_ALBUM,
    ),
    # ---------------- metal / rock (Frets on Fire: mix = song.ogg + guitar.ogg) ----------------
    LabelRule(
        "fretsonfire-songs-muldjord", re.escape(FOF) + r"muldjord/[^/]+/song\.ogg", "metal_rock", "high",
        "GENRE tag 'Death Metal', ARTIST Muldjord (Danish death-metal band)",
        "CC-BY-SA-3.0", SPLIT_GROUP_BY_TRACK, stems=("song.ogg", "guitar.ogg"),
    ),
    LabelRule(
        "fretsonfire-songs-sectoid", re.escape(FOF) + r"sectoid/[^/]+/song\.ogg", "metal_rock", "medium",
        "song.ini: 'Composed and performed by Sectoid' (library 'Songs by Sectoid'); no genre tag; titles "
        "('Metal madness', 'War of freedom') and the inventory's spectrogram check say instrumental metal/hard rock; "
        "'Feelings' is the calmest of the four",
        "Expat", SPLIT_GROUP_BY_TRACK, artist="Sectoid", stems=("song.ogg", "guitar.ogg"),
    ),
    # ---------------- chiptune / tracker ----------------
    LabelRule(
        "pingus-data", r"usr/share/games/pingus/data/music/[^/]+\.(it|s3m)", "chiptune_tracker", "high",
        "Impulse/Scream Tracker module (.it/.s3m): sample-based tracker music, rendered by libopenmpt",
        "GPL-2+", SPLIT_GROUP_BY_PACKAGE, artist="Pingus module authors",
    ),
    LabelRule(
        "fb-music-high", r"usr/share/games/frozen-bubble/snd/frozen-mainzik-2p\.xm", "chiptune_tracker", "high",
        "FastTracker 2 module (.xm), rendered by libopenmpt",
        "GPL-2+", SPLIT_GROUP_BY_PACKAGE, artist="Frozen Bubble",
    ),
    LabelRule(
        "tomatoes-data", r"usr/share/tomatoes/music/IHaveNoTomatoes\.it", "chiptune_tracker", "high",
        "Impulse Tracker module (.it), rendered by libopenmpt",
        "Zlib", SPLIT_GROUP_BY_PACKAGE, artist="I Have No Tomatoes",
    ),
    LabelRule(
        "supertux-data", r"usr/share/games/supertux2/music/retro/[^/]+\.ogg", "chiptune_tracker", "medium",
        "SuperTux 'retro' directory: the 0.0.x/0.1 game music (titles 'SuperTux 0.0.4 music', 'Super Tux - The Cave'), "
        "chip/tracker style per the inventory's spectrogram check",
        "GPL-2+", SPLIT_GROUP_BY_PACKAGE, artist="SuperTux retro",
    ),
    LabelRule(
        "supertux-data", r"usr/share/games/supertux2/music/antarctic/chipdisko\.ogg", "chiptune_tracker", "medium",
        "TITLE 'Mortimer's Chipdisko', ARTIST Mortimer Twang",
        "GPL-2+", SPLIT_GROUP_BY_PACKAGE,
    ),
    LabelRule(
        "powermanga-data", r"usr/share/games/powermanga/sound/handheld_console/music_[a-z]+\.ogg", "chiptune_tracker", "medium",
        "files live in the game's 'handheld_console' music set (chip-style variant of the soundtrack); 22.05 kHz source",
        "GPL-3+", SPLIT_GROUP_BY_PACKAGE, artist="Powermanga",
    ),
    LabelRule(
        "trackballs-data", r"usr/share/games/trackballs/music/c64revival\.ogg", "chiptune_tracker", "medium",
        "TITLE 'C64 Revival' (Commodore-64 SID style)",
        "Ethymonics-Free-Music-License", SPLIT_GROUP_BY_PACKAGE, artist="Paul Leach",
    ),
)

# Files that a rule matches but that must not be used, with the reason.
EXCLUDED_PATHS = {
    WESNOTH + "frantic-old.ogg": "GENRE tag 'Game', older version of frantic.ogg",
    WESNOTH + "return_to_wesnoth.ogg": "no GENRE/ALBUM tag",
    # No genre tag; the inventory calls it the calm one of the four, and
    # spot_check.py measured it far from every other metal song (centroid
    # 1.7 kHz vs a class median of 4.0 kHz, 12 % vs 25 % energy below 120 Hz).
    FOF + "sectoid/Feelings/song.ogg": "genre unclear: calm piece in a metal song pack",
    # These Impulse Tracker modules have instruments with random panning
    # variation; libopenmpt seeds that randomness itself, so two renders differ
    # (found by comparing two full fetches) and the clips would not be reproducible.
    PINGUS + "pingus-3.it": "non-reproducible render (IT random panning variation)",
    PINGUS + "pingus-5.it": "non-reproducible render (IT random panning variation)",
    PINGUS + "sorcerer.it": "non-reproducible render (IT random panning variation)",
}


# ARTIST tags spell one artist several ways; splits group by the canonical name.
ARTIST_ALIASES = {
    "Gerd (elysis) Raudenbusch": "elysis",
    "www.elysis.de": "elysis",
    'Braden "meoblast001" Walters': "meoblast001",
}


# Sources whose audio ends long before the file does (measured, not guessed):
# clips are placed inside the audible part only.
AUDIBLE_UNTIL_S = {
    # libopenmpt renders 22.5 s of music, then 70 s of digital silence
    # (ffmpeg silencedetect at -60 dB; found by fetch's near-silence check).
    "usr/share/games/pingus/data/music/pingus-2.it": 22.5,
}


@dataclass(frozen=True)
class InventoryFile:
    package: str
    version: str
    path: str
    duration_s: float
    sha256: str
    title: str
    artist: str
    genre_tag: str
    album: str


def read_inventory(tsv_path: Path) -> list[InventoryFile]:
    rows: list[InventoryFile] = []
    with tsv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            try:
                duration_s = float(row["duration_s"])
            except ValueError:
                continue
            rows.append(
                InventoryFile(
                    row["package"], row["version"], row["path"], duration_s, row["sha256"],
                    row["title"], row["artist"], row["genre_tag"], row["album"],
                )
            )
    return rows


PK3_LOCATIONS = {
    "nexuiz-music": NEXUIZ_PK3,
    "ufoai-music": UFOAI_PK3,
}


def manifest_path(f: InventoryFile) -> str:
    """Map the inventory's 'pk3/<member>' shorthand to ARCHIVE!/MEMBER notation."""
    if f.path.startswith("pk3/"):
        return PK3_LOCATIONS[f.package] + f.path[len("pk3/"):]
    return f.path


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def clip_starts_s(duration_s: float, cap: int) -> list[float]:
    """Evenly spread, non-overlapping clip starts inside the 15-85 % window."""
    window_start = duration_s * WINDOW_START_FRAC
    window_len = duration_s * (WINDOW_END_FRAC - WINDOW_START_FRAC)
    count = min(cap, int(window_len // CLIP_LEN_S))
    if count == 0:
        if duration_s < CLIP_LEN_S + 2.0:
            return []
        # Short loop: one clip centred in the track.
        return [round((duration_s - CLIP_LEN_S) / 2.0, 1)]
    segment = window_len / count
    return [round(window_start + (i + 0.5) * segment - CLIP_LEN_S / 2.0, 1) for i in range(count)]


@dataclass
class Track:
    rule: LabelRule
    package: str
    version: str
    path: str  # manifest notation (stems joined with STEM_SEP)
    sha256: str  # stems joined with STEM_SEP
    duration_s: float
    artist: str
    album: str
    title: str
    source_track_id: str
    split_group: str


def collect_tracks(inventory: list[InventoryFile]) -> list[Track]:
    by_key = {(f.package, manifest_path(f)): f for f in inventory}
    tracks: list[Track] = []
    seen: set[tuple[str, str]] = set()
    for f in sorted(inventory, key=lambda x: (x.package, manifest_path(x))):
        mpath = manifest_path(f)
        matching = [r for r in LABEL_RULES if r.package == f.package and re.fullmatch(r.path_regex, mpath)]
        if not matching or mpath in EXCLUDED_PATHS or f.duration_s < MIN_TRACK_S:
            continue
        if len(matching) > 1:
            raise SystemExit(f"two label rules match {f.package}:{mpath}")
        rule = matching[0]
        if (f.package, mpath) in seen:
            continue
        seen.add((f.package, mpath))
        if rule.stems:
            song_dir = mpath.rsplit("/", 1)[0]
            stem_files = []
            for stem in rule.stems:
                stem_file = by_key.get((f.package, f"{song_dir}/{stem}"))
                if stem_file is None:
                    raise SystemExit(f"stem {stem} missing for {song_dir}")
                stem_files.append(stem_file)
            path = mf.STEM_SEP.join(manifest_path(s) for s in stem_files)
            sha = mf.STEM_SEP.join(s.sha256 for s in stem_files)
            duration_s = min(s.duration_s for s in stem_files)
            name = song_dir.rsplit("/", 1)[1]
        else:
            path, sha, duration_s = mpath, f.sha256, f.duration_s
            name = mpath.rsplit("/", 1)[1].rsplit(".", 1)[0]
        duration_s = min(duration_s, AUDIBLE_UNTIL_S.get(mpath, duration_s))
        artist = rule.artist or f.artist.strip('"').split(";")[-1].strip().replace('""', '"') or "unknown"
        artist = ARTIST_ALIASES.get(artist, artist)
        album = rule.album or f.album or f.package
        track_id = f"{f.package}/{slug(name)}"
        if rule.split_group_by == SPLIT_GROUP_BY_ARTIST:
            group = f"artist:{slug(artist)}"
        elif rule.split_group_by == SPLIT_GROUP_BY_ALBUM:
            group = f"album:{slug(album)}"
        elif rule.split_group_by == SPLIT_GROUP_BY_PACKAGE:
            group = f"package:{f.package}"
        else:
            group = f"track:{track_id}"
        tracks.append(
            Track(rule, f.package, f.version, path, sha, duration_s, artist, album, f.title, track_id, group)
        )
    return tracks


def assign_splits(tracks: list[Track]) -> dict[str, str]:
    """Whole split groups go to one split; per class, aim at the target shares.

    Greedy and deterministic: groups in order of size (largest first, ties by
    name); the largest group of each class stays in train (it is the one that
    would otherwise dominate the test figures), every other group goes to the
    split furthest below its target share.
    """
    clips_per_group: dict[str, int] = {}
    class_of_group: dict[str, str] = {}
    for t in tracks:
        n = len(clip_starts_s(t.duration_s, CLIPS_PER_TRACK_CAP[t.rule.genre]))
        clips_per_group[t.split_group] = clips_per_group.get(t.split_group, 0) + n
        previous = class_of_group.setdefault(t.split_group, t.rule.genre)
        if previous != t.rule.genre:
            raise SystemExit(f"split group {t.split_group} spans {previous} and {t.rule.genre}")
    split_of_group: dict[str, str] = {}
    for genre in sorted(set(class_of_group.values())):
        if all(g.startswith("track:") for g, c in class_of_group.items() if c == genre):
            split_of_group.update(_round_robin_by_package(sorted(g for g, c in class_of_group.items() if c == genre)))
            continue
        groups = sorted((g for g, c in class_of_group.items() if c == genre), key=lambda g: (-clips_per_group[g], g))
        total = sum(clips_per_group[g] for g in groups)
        targets = {"test": TEST_SHARE * total, "val": VAL_SHARE * total}
        filled = {"train": 0, "val": 0, "test": 0}
        for i, g in enumerate(groups):
            if i == 0:
                split = "train"
            else:
                deficits = {s: targets[s] - filled[s] for s in ("test", "val")}
                best = max(deficits, key=lambda s: (deficits[s], s == "test"))
                # Only take the group if it does not overshoot the target by more than half the group.
                split = best if deficits[best] >= clips_per_group[g] / 2.0 else "train"
            split_of_group[g] = split
            filled[split] += clips_per_group[g]
    return split_of_group


# A band in a by-song class keeps at least this many songs in train.
MIN_TRAIN_SONGS_PER_PACKAGE = 2


def _round_robin_by_package(track_groups: list[str]) -> dict[str, str]:
    """Classes split by track (too few artists to split by artist): within each
    package (here: band), songs in alphabetical order go to test, then val, then
    train -- but val is skipped where that would leave the band with fewer than
    MIN_TRAIN_SONGS_PER_PACKAGE training songs, because with so few songs the
    training set matters more than a per-band validation figure."""
    by_package: dict[str, list[str]] = {}
    for g in track_groups:
        package = g.split(":", 1)[1].split("/", 1)[0]
        by_package.setdefault(package, []).append(g)
    split_of: dict[str, str] = {}
    for groups in by_package.values():
        songs = sorted(groups)
        order = ["test"]
        if len(songs) - 2 >= MIN_TRAIN_SONGS_PER_PACKAGE:
            order.append("val")
        for i, g in enumerate(songs):
            split_of[g] = order[i] if i < len(order) else "train"
    return split_of


def build_rows(tracks: list[Track]) -> list[dict[str, str]]:
    split_of_group = assign_splits(tracks)
    rows: list[dict[str, str]] = []
    for t in tracks:
        starts = clip_starts_s(t.duration_s, CLIPS_PER_TRACK_CAP[t.rule.genre])
        title = t.title.strip('"').split(";")[0].replace('""', '"')
        title = f"TITLE '{title}'; " if title else ""
        evidence = f"{title}{t.rule.evidence}"
        if t.rule.stems:
            evidence += "; clip cut from the SUM of the stems " + " + ".join(t.rule.stems) + " (the released mix)"
        for i, start_s in enumerate(starts):
            rows.append(
                {
                    "clip_id": f"{t.source_track_id.replace('/', '--')}--c{i}",
                    "package": t.package,
                    "version": t.version,
                    "path": t.path,
                    "start_s": f"{start_s:.1f}",
                    "duration_s": f"{CLIP_LEN_S:.1f}",
                    "sha256": t.sha256,
                    "genre": t.rule.genre,
                    "licence": t.rule.licence,
                    "source_track_id": t.source_track_id,
                    "split": split_of_group[t.split_group],
                    "evidence": evidence,
                    "kind": "real",
                    "artist": t.artist,
                    "split_group": t.split_group,
                    "confidence": t.rule.confidence,
                    "track_duration_s": f"{t.duration_s:.2f}",
                }
            )
    rows.sort(key=lambda r: (r["genre"], r["split"], r["clip_id"]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=Path("/work/shared/corpus/audio_files.tsv"))
    parser.add_argument("--out", type=Path, default=HERE / "clips.csv")
    args = parser.parse_args()
    tracks = collect_tracks(read_inventory(args.inventory))
    rows = build_rows(tracks)
    mf.write_manifest(args.out, rows)
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["genre"], r["split"])] = counts.get((r["genre"], r["split"]), 0) + 1
    for (genre, split), n in sorted(counts.items()):
        print(f"{genre:18s} {split:5s} {n:4d}")
    print(f"{len(rows)} clips from {len(tracks)} tracks -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
