"""Checks of the measurement helpers and the target verdicts, without audio or network.

The verdicts in docs/BENCHMARKS.md are computed, so the computation is what
needs testing: a wrong sign or a swapped ratio would publish a false claim.
"""

import math
import struct
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import benchsuite  # noqa: E402
import report  # noqa: E402

TOL_DB = 1e-9


def analysis(curve_db, lufs, side_db=None):
    centres = [20.0, 31.5, 40.0, 1000.0, 16000.0, 20000.0]
    return {
        "loudness": {"integrated_lufs": lufs},
        "tonal": {
            "third_octave_centres_hz": centres,
            "mid_db": curve_db,
            "side_db": side_db or curve_db,
            "floor_db": -200.0,
        },
    }


class TonalDistance(unittest.TestCase):
    def test_gain_alone_is_no_tonal_distance(self):
        ref = analysis([-30, -20, -10, -5, -12, -40], lufs=-14.0)
        louder = analysis([x + 6 for x in [-30, -20, -10, -5, -12, -40]], lufs=-8.0)
        self.assertLess(abs(benchsuite.tonal_distance_db(louder, ref, "mid_db")), TOL_DB)

    def test_one_band_off_is_averaged_over_the_window_only(self):
        ref = analysis([-30, -20, -10, -5, -12, -40], lufs=-14.0)
        # +3 dB at 1 kHz (inside), +50 dB at 20 Hz and 20 kHz (outside 40 Hz-16 kHz).
        mix = analysis([20, -20, -10, -2, -12, 10], lufs=-14.0)
        self.assertAlmostEqual(benchsuite.tonal_distance_db(mix, ref, "mid_db"), 3.0 / 3, delta=TOL_DB)

    def test_floor_bands_are_skipped(self):
        ref = analysis([-30, -20, -10, -5, -12, -40], lufs=-14.0)
        mix = analysis([-30, -20, -200, -5, -12, -40], lufs=-14.0)
        self.assertLess(benchsuite.tonal_distance_db(mix, ref, "mid_db"), TOL_DB)

    def test_no_common_band_is_nan(self):
        ref = analysis([-30, -20, -200, -200, -200, -40], lufs=-14.0)
        self.assertTrue(math.isnan(benchsuite.tonal_distance_db(ref, ref, "mid_db")))


class Parsing(unittest.TestCase):
    def test_loudnorm_json_is_the_last_object(self):
        stderr = 'Input #0 {junk}\n[Parsed_loudnorm_0 @ 0x1]\n{\n "input_i" : "-11.00",\n "target_offset" : "0.03"\n}\n'
        self.assertEqual(benchsuite.last_json_object(stderr)["input_i"], "-11.00")

    def test_wav_frames_from_header(self):
        frames = 1234
        data = b"\0" * frames * 8
        fmt = struct.pack("<HHIIHH", 3, 2, 44100, 44100 * 8, 8, 32)
        riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        riff += b"LIST" + struct.pack("<I", 3) + b"abc\0"  # odd chunk with pad byte
        riff += b"data" + struct.pack("<I", len(data)) + data
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "x.wav"
            p.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
            self.assertEqual(benchsuite.wav_frames(p), frames)
            p.write_bytes(b"nope")
            with self.assertRaises(ValueError):
                benchsuite.wav_frames(p)

    def test_max_rss_is_read_in_megabytes(self):
        text = "\tMaximum resident set size (kbytes): 204800\n"
        self.assertEqual(int(benchsuite.MAX_RSS_RE.search(text).group(1)) / 1024.0, 200.0)

    def test_lacquer_report_summary(self):
        rep = {
            "runtime_seconds": 0.4321,
            "gate": {"passed": False, "checks": [
                {"name": "true_peak", "status": "fail"}, {"name": "loudness", "status": "pass"},
                {"name": "clipping", "status": "fail"}]},
            "plan": {"target": {"integrated_lufs": -14.0, "ceiling_dbtp": -1.0},
                     "profile_blend": [["electronic", 0.75], ["metal_rock", 0.25]]},
        }
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "r.json"
            p.write_text(__import__("json").dumps(rep))
            got = benchsuite.lacquer_report_summary(p)
            self.assertEqual(got["gate"], "fail: clipping true_peak")
            self.assertEqual(got["lacquer_target_lufs"], "-14.00")
            self.assertEqual(got["lacquer_profiles"], "electronic:0.75 metal_rock:0.25")
            self.assertEqual(got["engine_runtime_s"], "0.43")
            p.write_text("not json")
            self.assertEqual(benchsuite.lacquer_report_summary(p), {"gate": "no report"})


def row(track, tool, **values):
    r = {"track": track, "tool": tool, "output_lufs": "-14.00"}
    r.update({k: f"{v}" for k, v in values.items()})
    return r


class Verdicts(unittest.TestCase):
    def lines(self, rows, tracks):
        return "\n".join(report.targets_section(rows, tracks, {}))

    def test_speed_ratio_is_matchering_over_lacquer(self):
        rows = [
            row("a", "lacquer-ref", wall_s_median=1.0, peak_rss_mb=100),
            row("a", "matchering", wall_s_median=30.0, peak_rss_mb=1000),
            row("b", "lacquer-ref", wall_s_median=2.0, peak_rss_mb=100),
            row("b", "matchering", wall_s_median=30.0, peak_rss_mb=1000),
        ]
        text = self.lines(rows, ["a", "b"])
        speed = next(ln for ln in text.splitlines() if "wall time" in ln)
        self.assertIn("min 15.0x", speed)
        self.assertIn("NOT met", speed)  # 15x < 20x on track b
        memory = next(ln for ln in text.splitlines() if "peak memory" in ln)
        self.assertIn("min 10.0x", memory)
        self.assertIn("**met**", memory)

    def test_loudness_error_uses_the_worst_absolute_value(self):
        rows = [
            row("a", "lacquer-auto", loudness_error_lu=0.05, tp_over_db=0, mp3_tp_over_db=0.2),
            row("b", "lacquer-auto", loudness_error_lu=-0.3, tp_over_db=0.01, mp3_tp_over_db=0.4),
        ]
        text = self.lines(rows, ["a", "b"])
        loud = next(ln for ln in text.splitlines() if "loudness error" in ln and "lacquer-auto" in ln)
        self.assertIn("worst 0.30 LU", loud)
        self.assertIn("NOT met", loud)
        over = next(ln for ln in text.splitlines() if "zero true-peak" in ln)
        self.assertIn("NOT met", over)
        mp3 = next(ln for ln in text.splitlines() if "after MP3" in ln)
        self.assertIn("worst over 0.40 dB", mp3)
        self.assertIn("NOT met", mp3)

    def test_tonal_and_plr_compare_with_matchering(self):
        rows = [
            row("a", "lacquer-ref", tonal_mid_db=1.0, tonal_side_db=3.0, plr_db=10.0),
            row("a", "matchering", tonal_mid_db=2.0, tonal_side_db=2.0, plr_db=9.0),
        ]
        text = self.lines(rows, ["a"]).splitlines()
        mid = next(ln for ln in text if "(mid)" in ln)
        side = next(ln for ln in text if "(side)" in ln)
        plr = next(ln for ln in text if "PLR" in ln)
        self.assertIn("**met**", mid)
        self.assertIn("NOT met", side)
        self.assertIn("a +1.0 dB", plr)
        self.assertIn("**met**", plr)

    def test_plr_context_gives_the_cap_under_the_ceiling(self):
        # Reference at -8 LUFS: under -1 dBTP no master there can have a PLR above 7 dB.
        rows = [
            row("a", "lacquer-ref", plr_db=6.8, target_lufs=-8.0),
            row("a", "matchering", plr_db=8.9, target_lufs=-8.0, tp_over_db=1.7, loudness_error_lu=0.1),
        ]
        text = self.lines(rows, ["a"]).splitlines()
        context = next(ln for ln in text if "context, not a target" in ln)
        self.assertIn("a cap 7.0: lacquer-ref 6.8, matchering 8.9 (over 1.7 dB, +0.1 LU)", context)
        self.assertTrue(context.endswith("| — |"))

    def test_missing_lacquer_is_reported_not_judged(self):
        rows = [row("a", "matchering", wall_s_median=30.0, peak_rss_mb=1000)]
        text = "\n".join(report.targets_section(rows, ["a"], {"lacquer-ref": "no master command"}))
        self.assertIn("not measured (no master command)", text)
        self.assertNotIn("met**", text)


if __name__ == "__main__":
    unittest.main()
