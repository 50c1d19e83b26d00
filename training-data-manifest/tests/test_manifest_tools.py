"""Tests for the manifest format, the offline checker, clip placement and fetch.

Run: python3 -m unittest discover -s training-data-manifest/tests -v
The fetch tests use small generated audio and local-path manifests (no network);
they are skipped where ffmpeg is not installed.
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOOLS))
import build_manifest as bm  # noqa: E402
import manifest_format as mf  # noqa: E402


def _load_script(name: str):
    loader = importlib.machinery.SourceFileLoader(name, str(TOOLS / name))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    loader.exec_module(module)
    return module


fetch = _load_script("fetch")

RATE_HZ = 44100
# A float32 sample has a 24-bit mantissa: values we write must come back within this.
TOL_FLOAT32 = 1e-6
# RMS of a sine of amplitude A is A/sqrt(2); a 10 s clip of a 440 Hz tone holds
# 4400 whole periods, so the measured level matches within this.
TOL_RMS_DB = 0.01
# soxr resampling of a 22.05 kHz tone to 44.1 kHz keeps the level to within this.
TOL_RESAMPLED_RMS_DB = 0.05
HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def write_float_wav(path: Path, channels: list[list[float]], rate_hz: int) -> None:
    frames = len(channels[0])
    n_ch = len(channels)
    interleaved = [channels[c][i] for i in range(frames) for c in range(n_ch)]
    data = struct.pack(f"<{len(interleaved)}f", *interleaved)
    fmt = struct.pack("<HHIIHH", 3, n_ch, rate_hz, rate_hz * n_ch * 4, n_ch * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_samples(path: Path) -> list[tuple[float, float]]:
    raw = path.read_bytes()
    pos = raw.index(b"data") + 8
    values = struct.unpack(f"<{(len(raw) - pos) // 4}f", raw[pos : pos + (len(raw) - pos) // 4 * 4])
    return list(zip(values[0::2], values[1::2]))


def sine(freq_hz: float, amplitude: float, seconds: float, rate_hz: int) -> list[float]:
    return [amplitude * math.sin(2 * math.pi * freq_hz * i / rate_hz) for i in range(round(seconds * rate_hz))]


def base_row(**overrides: str) -> dict[str, str]:
    row = {
        "clip_id": "pkg--track--c0",
        "package": "pkg",
        "version": "1.0-1",
        "path": "usr/share/pkg/track.ogg",
        "start_s": "20.0",
        "duration_s": "10.0",
        "sha256": "a" * 64,
        "genre": "orchestral",
        "licence": "GPL-2+",
        "source_track_id": "pkg/track",
        "split": "train",
        "evidence": "tag",
        "kind": "real",
        "artist": "x",
        "split_group": "track:pkg/track",
        "confidence": "high",
        "track_duration_s": "100.00",
    }
    row.update(overrides)
    return row


def tiny_valid_manifest() -> list[dict[str, str]]:
    """One track per split for one class: the smallest manifest the checker accepts."""
    rows = []
    for split, letter in (("train", "a"), ("val", "b"), ("test", "c")):
        rows.append(
            base_row(
                clip_id=f"pkg--{split}--c0",
                path=f"usr/share/pkg/{split}.ogg",
                sha256=letter * 64,
                source_track_id=f"pkg/{split}",
                split_group=f"track:pkg/{split}",
                split=split,
            )
        )
    return rows


class ClipPlacementTest(unittest.TestCase):
    def test_clips_stay_inside_the_track_and_do_not_overlap(self) -> None:
        for duration_s in (12.5, 14.0, 25.6, 33.38, 46.47, 60.0, 143.68, 390.58, 847.39):
            for cap in range(1, 8):
                starts = bm.clip_starts_s(duration_s, cap)
                with self.subTest(duration_s=duration_s, cap=cap):
                    self.assertLessEqual(len(starts), cap)
                    self.assertGreaterEqual(len(starts), 1)
                    for s in starts:
                        self.assertGreaterEqual(s, 0.0)
                        self.assertLessEqual(s + bm.CLIP_LEN_S, duration_s)
                    for a, b in zip(starts, starts[1:]):
                        self.assertGreaterEqual(b, a + bm.CLIP_LEN_S)

    def test_clips_skip_intro_and_outro_when_the_track_is_long_enough(self) -> None:
        duration_s = 200.0
        starts = bm.clip_starts_s(duration_s, 6)
        self.assertEqual(len(starts), 6)
        self.assertGreaterEqual(starts[0], bm.WINDOW_START_FRAC * duration_s)
        self.assertLessEqual(starts[-1] + bm.CLIP_LEN_S, bm.WINDOW_END_FRAC * duration_s)

    def test_too_short_tracks_give_no_clip(self) -> None:
        self.assertEqual(bm.clip_starts_s(11.0, 3), [])


class ShippedManifestTest(unittest.TestCase):
    def setUp(self) -> None:
        self.header, self.rows = mf.read_manifest(TOOLS / "clips.csv")

    def test_shipped_manifest_passes_the_checker(self) -> None:
        res = mf.check_manifest(self.header, self.rows, min_real_clips_per_class=40)
        self.assertEqual(res.errors, [])
        self.assertEqual(res.coverage, [])

    def test_at_least_five_real_classes_with_40_clips_each_and_all_in_test(self) -> None:
        classes = {}
        for r in self.rows:
            if r["kind"] == "real":
                classes.setdefault(r["genre"], []).append(r)
        big = [g for g, rs in classes.items() if len(rs) >= 40]
        self.assertGreaterEqual(len(big), 5)
        for g in classes:
            self.assertTrue(any(r["split"] == "test" for r in classes[g]), g)

    def test_columns_are_in_the_documented_order(self) -> None:
        self.assertEqual(tuple(self.header), mf.COLUMNS)

    def test_pk3_and_stem_notation_are_consistent_with_hashes(self) -> None:
        pk3 = [r for r in self.rows if mf.ARCHIVE_SEP in r["path"]]
        stems = [r for r in self.rows if mf.STEM_SEP in r["path"]]
        self.assertTrue(pk3)
        self.assertTrue(stems)
        for r in stems:
            self.assertEqual(len(mf.split_stems(r["path"])), len(mf.split_stems(r["sha256"])))
            self.assertIn("SUM of the stems", r["evidence"])

    def test_ci_subset_names_existing_clips_from_small_packages(self) -> None:
        ids = [ln.strip() for ln in (TOOLS / "ci-subset.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        by_id = {r["clip_id"]: r for r in self.rows}
        self.assertGreaterEqual(len(ids), 5)
        for clip_id in ids:
            self.assertIn(clip_id, by_id)

    def test_each_metal_band_is_in_test_and_keeps_two_training_songs(self) -> None:
        songs: dict[tuple[str, str], set[str]] = {}
        for r in self.rows:
            if r["genre"] == "metal_rock":
                songs.setdefault((r["package"], r["split"]), set()).add(r["source_track_id"])
        for band in ("fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid"):
            self.assertEqual(len(songs.get((band, "test"), ())), 1, band)
            self.assertGreaterEqual(len(songs.get((band, "train"), ())), bm.MIN_TRAIN_SONGS_PER_PACKAGE, band)

    def test_versions_of_one_piece_share_a_split(self) -> None:
        split_of = {r["source_track_id"]: r["split"] for r in self.rows}
        for a, b in (
            ("nexuiz-music/sixtyfour", "nexuiz-music/sixtyfour-revisited"),
            ("colobot-common-sounds/humanitarian", "colobot-common-sounds/hv2"),
        ):
            self.assertEqual(split_of[a], split_of[b], (a, b))

    def test_rebuilding_from_the_rules_is_deterministic(self) -> None:
        inventory = Path("/work/shared/corpus/audio_files.tsv")
        if not inventory.exists():
            self.skipTest("inventory not on this machine")
        rows_a = bm.build_rows(bm.collect_tracks(bm.read_inventory(inventory)))
        rows_b = bm.build_rows(bm.collect_tracks(bm.read_inventory(inventory)))
        self.assertEqual(rows_a, rows_b)
        self.assertEqual([r["clip_id"] for r in rows_a], [r["clip_id"] for r in self.rows])


class CheckerTest(unittest.TestCase):
    def errors(self, rows: list[dict[str, str]], header: tuple[str, ...] = mf.COLUMNS) -> list[str]:
        res = mf.check_manifest(list(header), rows, min_real_clips_per_class=0)
        return res.errors + res.coverage

    def test_valid_minimal_manifest(self) -> None:
        self.assertEqual(self.errors(tiny_valid_manifest()), [])

    def test_missing_column(self) -> None:
        header = tuple(c for c in mf.COLUMNS if c != "split")
        self.assertTrue(any("missing columns" in e for e in self.errors(tiny_valid_manifest(), header)))

    def test_duplicate_clip_id(self) -> None:
        rows = tiny_valid_manifest()
        rows[1]["clip_id"] = rows[0]["clip_id"]
        self.assertTrue(any("appears 2 times" in e for e in self.errors(rows)))

    def test_track_in_two_splits_is_a_leak(self) -> None:
        rows = tiny_valid_manifest()
        extra = copy.deepcopy(rows[0])
        extra.update(clip_id="pkg--train--c1", split="test", start_s="40.0")
        rows.append(extra)
        errs = self.errors(rows)
        self.assertTrue(any("leak: source track pkg/train" in e for e in errs), errs)

    def test_same_file_under_two_track_ids_is_a_leak(self) -> None:
        rows = tiny_valid_manifest()
        rows[2]["sha256"] = rows[0]["sha256"]  # test clip reuses the train file
        self.assertTrue(any("leak: source file" in e for e in self.errors(rows)))

    def test_split_group_in_two_splits_is_a_leak(self) -> None:
        rows = tiny_valid_manifest()
        rows[2]["split_group"] = rows[0]["split_group"]
        self.assertTrue(any("leak: split group" in e for e in self.errors(rows)))

    def test_synthetic_clips_cannot_be_evaluated(self) -> None:
        rows = tiny_valid_manifest()
        rows[2]["kind"] = "synthetic"
        errs = self.errors(rows)
        self.assertTrue(any("synthetic" in e for e in errs))
        self.assertTrue(any("no real clips in the test split" in e for e in errs))

    def test_one_track_id_for_two_files_is_an_error(self) -> None:
        rows = tiny_valid_manifest()
        rows[1]["source_track_id"] = rows[0]["source_track_id"]
        rows[1]["split"] = rows[0]["split"]
        rows[1]["split_group"] = rows[0]["split_group"]
        self.assertTrue(any("different sources" in e for e in self.errors(rows)))

    def test_bad_sha_and_stem_count(self) -> None:
        rows = tiny_valid_manifest()
        rows[0]["sha256"] = "xyz"
        rows[1]["path"] = "a/song.ogg + a/guitar.ogg"
        errs = self.errors(rows)
        self.assertTrue(any("not 64 lowercase hex" in e for e in errs))
        self.assertTrue(any("2 path(s) but 1 sha256" in e for e in errs))

    def test_clip_past_track_end(self) -> None:
        rows = tiny_valid_manifest()
        rows[0]["start_s"] = "95.0"
        self.assertTrue(any("after the track" in e for e in self.errors(rows)))

    def test_class_missing_from_test_and_too_few_clips(self) -> None:
        rows = tiny_valid_manifest()[:2]
        errs = mf.check_manifest(list(mf.COLUMNS), rows, min_real_clips_per_class=40).coverage
        self.assertTrue(any("no real clips in the test split" in e for e in errs))
        self.assertTrue(any("fewer than 40" in e for e in errs))

    def test_local_rows_need_no_package_but_no_version_either(self) -> None:
        rows = tiny_valid_manifest()
        for r in rows:
            r.update(package="", version="", sha256="", licence="")
        self.assertEqual(self.errors(rows), [])
        rows[0]["version"] = "1.0"
        self.assertTrue(any("version given without a package" in e for e in self.errors(rows)))


@unittest.skipUnless(HAVE_FFMPEG, "ffmpeg/ffprobe not installed")
class FetchLocalTest(unittest.TestCase):
    """End-to-end fetch on local-path manifests (the user-corpus variant)."""

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="lacquer-fetch-test-"))
        self.cache = self.tmp / "cache"

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp)

    def run_fetch(self, manifest: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(TOOLS / "fetch"), "--manifest", str(manifest), "--cache", str(self.cache), *extra],
            capture_output=True, text=True, check=False,
        )

    def write_manifest(self, rows: list[dict[str, str]]) -> Path:
        path = self.tmp / "local.csv"
        mf.write_manifest(path, rows)
        return path

    def local_rows(self, path: str, sha: str, track_s: float, start_s: float) -> list[dict[str, str]]:
        rows = tiny_valid_manifest()
        for r in rows:
            r.update(package="", version="", licence="", path=path, sha256=sha, start_s=f"{start_s}",
                     track_duration_s=f"{track_s:.2f}")
        # one file: keep it in a single split (the checker would call the rest a leak)
        return [dict(rows[2], clip_id="local--c0", source_track_id="local/t", split_group="track:local/t")] + [
            dict(r, path=f"missing-{r['split']}.wav", sha256="", source_track_id=f"gone/{r['split']}",
                 split_group=f"track:gone/{r['split']}") for r in rows[:2]
        ]

    def test_trim_is_sample_exact_and_idempotent(self) -> None:
        ramp = [i / 1_000_000.0 for i in range(20 * RATE_HZ)]
        src = self.tmp / "ramp.wav"
        write_float_wav(src, [ramp, [-v for v in ramp]], RATE_HZ)
        rows = self.local_rows("ramp.wav", fetch.sha256_file(src), 20.0, 1.5)[:1]
        rows[0]["split"] = "train"
        manifest = self.write_manifest(rows)
        proc = self.run_fetch(manifest)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        samples = read_samples(self.cache / "clips" / "local--c0.wav")
        self.assertEqual(len(samples), 10 * RATE_HZ)
        first = round(1.5 * RATE_HZ)
        for i in (0, 1, 12345, len(samples) - 1):
            self.assertAlmostEqual(samples[i][0], ramp[first + i], delta=TOL_FLOAT32)
            self.assertAlmostEqual(samples[i][1], -ramp[first + i], delta=TOL_FLOAT32)
        again = self.run_fetch(manifest)
        self.assertEqual(again.returncode, 0, again.stdout)
        self.assertRegex(again.stdout, r"ok \(cached, verified\)\s+1")
        self.assertRegex(again.stdout, r"ok \(cut now\)\s+0")

    def test_mono_source_is_resampled_duplicated_and_level_kept(self) -> None:
        amplitude = 0.5
        src = self.tmp / "mono22k.wav"
        write_float_wav(src, [sine(441.0, amplitude, 30.0, 22050)], 22050)
        rows = self.local_rows("mono22k.wav", fetch.sha256_file(src), 30.0, 10.0)[:1]
        rows[0]["split"] = "train"
        proc = self.run_fetch(self.write_manifest(rows))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        clip = self.cache / "clips" / "local--c0.wav"
        stats = fetch.read_float_wav(clip)
        self.assertEqual(stats.frames, 10 * RATE_HZ)
        expected_db = 20 * math.log10(amplitude / math.sqrt(2))
        self.assertAlmostEqual(stats.rms_dbfs, expected_db, delta=TOL_RESAMPLED_RMS_DB)
        for left, right in read_samples(clip)[:1000]:
            self.assertEqual(left, right)

    def test_stems_are_summed_and_archive_members_are_read(self) -> None:
        amplitude = 0.25
        tone = sine(440.0, amplitude, 30.0, RATE_HZ)
        write_float_wav(self.tmp / "song.wav", [tone, tone], RATE_HZ)
        with zipfile.ZipFile(self.tmp / "stems.pk3", "w") as archive:
            write_float_wav(self.tmp / "guitar.wav", [tone, tone], RATE_HZ)
            archive.write(self.tmp / "guitar.wav", "sound/guitar.wav")
        path = "song.wav + stems.pk3!/sound/guitar.wav"
        sha = f"{fetch.sha256_file(self.tmp / 'song.wav')} + {fetch.sha256_file(self.tmp / 'guitar.wav')}"
        rows = self.local_rows(path, sha, 30.0, 5.0)[:1]
        rows[0]["split"] = "train"
        proc = self.run_fetch(self.write_manifest(rows))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        stats = fetch.read_float_wav(self.cache / "clips" / "local--c0.wav")
        expected_db = 20 * math.log10(2 * amplitude / math.sqrt(2))
        self.assertAlmostEqual(stats.rms_dbfs, expected_db, delta=TOL_RMS_DB)

    def test_failures_are_reported_and_make_the_exit_status_non_zero(self) -> None:
        src = self.tmp / "tone.wav"
        tone = sine(440.0, 0.5, 30.0, RATE_HZ)
        write_float_wav(src, [tone, tone], RATE_HZ)
        silent = self.tmp / "silent.wav"
        write_float_wav(silent, [[0.0] * (30 * RATE_HZ)] * 2, RATE_HZ)
        rows = self.local_rows("tone.wav", "0" * 64, 30.0, 5.0)  # wrong hash + two missing files
        rows.append(dict(rows[0], clip_id="silent--c0", path="silent.wav", sha256=fetch.sha256_file(silent),
                         source_track_id="local/silent", split_group="track:local/silent"))
        # 7 s of tone then 3 s of digital silence: 30 % silent blocks, over the 25 % limit.
        gap = self.tmp / "gap.wav"
        gappy = tone[: 12 * RATE_HZ] + [0.0] * (18 * RATE_HZ)
        write_float_wav(gap, [gappy, gappy], RATE_HZ)
        rows.append(dict(rows[0], clip_id="gap--c0", path="gap.wav", sha256=fetch.sha256_file(gap),
                         source_track_id="local/gap", split_group="track:local/gap"))
        proc = self.run_fetch(self.write_manifest(rows))
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertRegex(proc.stdout, r"sha256 mismatch\s+1")
        self.assertRegex(proc.stdout, r"missing source file\s+2")
        self.assertRegex(proc.stdout, r"near-silent clip\s+2")
        self.assertRegex(proc.stdout, r"FAILED \[near-silent clip\] gap--c0: 30% of its 100-ms blocks")
        self.assertIn("FAILED [sha256 mismatch] local--c0", proc.stdout)
        self.assertFalse((self.cache / "clips" / "local--c0.wav").exists())

    def test_invalid_manifest_is_refused_before_any_work(self) -> None:
        rows = tiny_valid_manifest()
        rows[1]["clip_id"] = rows[0]["clip_id"]
        proc = self.run_fetch(self.write_manifest(rows))
        self.assertEqual(proc.returncode, 2)
        self.assertIn("manifest is invalid", proc.stderr)

    def test_make_local_manifest_round_trip(self) -> None:
        corpus = self.tmp / "corpus"
        for genre in ("Jazz", "Metal"):
            (corpus / genre).mkdir(parents=True)
            for k in range(3):
                tone = sine(220.0 * (k + 1), 0.3, 30.0, RATE_HZ)
                write_float_wav(corpus / genre / f"{genre.lower()}.{k:05d}.wav", [tone, tone], RATE_HZ)
        out = self.tmp / "mine.csv"
        proc = subprocess.run(
            [sys.executable, str(TOOLS / "make_local_manifest.py"), str(corpus), "--out", str(out), "--clips-per-track", "2"],
            capture_output=True, text=True, check=False,
        )
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        header, rows = mf.read_manifest(out)
        self.assertEqual(len(rows), 2 * 3 * 2)
        self.assertEqual({r["genre"] for r in rows}, {"jazz", "metal"})
        res = mf.check_manifest(header, rows, min_real_clips_per_class=0)
        self.assertEqual(res.errors, [])
        fetched = self.run_fetch(out)
        self.assertEqual(fetched.returncode, 0, fetched.stdout + fetched.stderr)
        self.assertRegex(fetched.stdout, r"ok \(cut now\)\s+12")


if __name__ == "__main__":
    unittest.main()
