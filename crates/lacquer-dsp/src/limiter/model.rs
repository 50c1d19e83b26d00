//! A cheap model of the limiter's gain, for predicting loudness.
//!
//! Why: the engine's loudness loop looks for the input gain that lands the
//! limited master on a loudness target. Every real try runs the limiter,
//! the loudness meter and the true-peak meter over the whole track. The
//! model answers "what would the limiter do at gain G" from numbers
//! gathered once: the safety pass's peak readings of the unscaled signal
//! (the larger of the BS.1770 meter model and the 8x reconstruction; both
//! are linear, so at gain G they are G times larger) reduced to their
//! maximum per short segment, run through the same hold and
//! program-dependent release at segment resolution. Why the safety pass's
//! detector: the main pass brings the meter model's reading to the target
//! and the safety pass then takes off what the 8x reading still shows, so
//! together they bring the larger of the two to the target. Reading only
//! the meter model, the model missed that second share: 0.03-0.06 LU at
//! 7 dB of limiting on bright material, 0.13 LU at 192 kHz (where the
//! meter model reads sample peaks). What it still leaves out (the ramps'
//! shape, where inside a segment the gain moves, the two passes' separate
//! releases) moves loudness by hundredths of an LU, so the engine uses it
//! to aim and still measures every pass it keeps.

use super::{Detector, FLAT_SPAN_FRAMES, REDUCTION_FLOOR, Release, TRUE_PEAK_MARGIN_DB, one_pole};
use crate::DspError;
use crate::processor::check_rate;
use crate::simd::dispatch_avx2;
use lacquer_core::chain::LimiterSettings;

/// Frames read per detector call.
const READ_FRAMES: usize = 512;

/// The limiter safety pass's peak reading of every frame (the larger of
/// the two channels), at unity gain, fed in pieces. Reading `i` belongs to
/// input frame `i`: the detector's own delay is taken out.
#[derive(Debug, Clone)]
pub struct PeakReader {
    detector: Detector,
    /// Per channel: `history` frames of past input, then the chunk.
    input: [Vec<f32>; 2],
    history: usize,
    readings: [Vec<f32>; 2],
    scratch: [Vec<f32>; 3],
    /// Readings still to drop before they line up with the input.
    unaligned: usize,
}

impl PeakReader {
    pub fn new(sample_rate: u32) -> Result<Self, DspError> {
        check_rate("limiter model", sample_rate, READ_FRAMES)?;
        let detector = Detector::new(sample_rate, true)?;
        let history = detector.span;
        let scratch = detector.scratch_len(READ_FRAMES);
        Ok(Self {
            input: [
                vec![0.0; history + READ_FRAMES],
                vec![0.0; history + READ_FRAMES],
            ],
            history,
            readings: [vec![0.0; READ_FRAMES], vec![0.0; READ_FRAMES]],
            scratch: [vec![0.0; scratch], vec![0.0; scratch], vec![0.0; scratch]],
            unaligned: detector.latency,
            detector,
        })
    }

    /// Appends the readings of the frames of `left`/`right` that are
    /// complete (the last few arrive with the next piece or [`Self::finish`]).
    pub fn push(&mut self, left: &[f32], right: &[f32], out: &mut Vec<f32>) {
        dispatch_avx2!(Self::push_avx2, Self::push_chunks, (self, left, right, out));
    }

    /// Appends the readings still held back by the detector's delay.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let zeros = vec![0.0; self.detector.latency];
        self.push(&zeros, &zeros, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn push_avx2(&mut self, left: &[f32], right: &[f32], out: &mut Vec<f32>) {
        self.push_chunks(left, right, out);
    }

    #[inline(always)]
    fn push_chunks(&mut self, left: &[f32], right: &[f32], out: &mut Vec<f32>) {
        let frames = left.len().min(right.len());
        let h = self.history;
        let [s0, s1, s2] = &mut self.scratch;
        for (l, r) in left[..frames]
            .chunks(READ_FRAMES)
            .zip(right[..frames].chunks(READ_FRAMES))
        {
            let n = l.len();
            self.input[0][h..h + n].copy_from_slice(l);
            self.input[1][h..h + n].copy_from_slice(r);
            for (ch, readings) in self.input.iter().zip(&mut self.readings) {
                self.detector
                    .read(&ch[..h + n], &mut readings[..n], s0, s1, s2);
            }
            let skip = self.unaligned.min(n);
            self.unaligned -= skip;
            let [rl, rr] = &self.readings;
            out.extend(
                rl[skip..n]
                    .iter()
                    .zip(&rr[skip..n])
                    .map(|(&a, &b)| a.max(b)),
            );
            for ch in &mut self.input {
                ch.copy_within(n..n + h, 0);
            }
        }
    }
}

/// Segments on each side of a segment whose peaks can reach into it, at
/// most (a longer reach means segments far shorter than the lookahead, which
/// the engine does not make).
const MAX_REACH: usize = 8;

/// The limiter's gain computer at segment resolution (see the module docs).
#[derive(Debug, Clone)]
pub struct LimiterModel {
    release: Release,
    /// Width of the dip a lone peak makes in the gain, frames: held flat
    /// over the lookahead plus the reconstruction span on both sides, then
    /// smoothed by the ramps, which move the edges but keep the area.
    dip_frames: f64,
}

impl LimiterModel {
    /// The model of a limiter with `settings` at `sample_rate` (the
    /// settings are checked as the limiter checks them).
    pub fn new(settings: &LimiterSettings, sample_rate: u32) -> Result<Self, DspError> {
        let limiter = super::Limiter::new(settings);
        limiter.validate()?;
        check_rate("limiter model", sample_rate, READ_FRAMES)?;
        let ramp_frames =
            ((settings.lookahead_ms * 1e-3 * f64::from(sample_rate)).round() as usize).max(2);
        Ok(Self {
            release: Release {
                fast: one_pole(settings.release_ms, sample_rate),
                slow_attack: one_pole(settings.release_ms * super::SLOW_ATTACK_FACTOR, sample_rate),
                slow: one_pole(settings.sustained_release_ms, sample_rate),
            },
            dip_frames: (ramp_frames + 2 * FLAT_SPAN_FRAMES) as f64,
        })
    }

    /// Squared gain of the limited output, per segment, relative to its
    /// input: `peaks[i]` is the largest unity-gain reading in segment `i`
    /// (of `lengths[i]` frames), `input_gain` the linear gain in front of
    /// the limiter, `ceiling_dbtp` its ceiling. The input gain itself is
    /// included, so `weights[i]` scales segment `i`'s input energy to the
    /// output's.
    ///
    /// A peak's dip, centred on its segment, covers the segment `k` away
    /// for a fraction `dip/(2·len) + 1/2 − k` of its length (clamped to
    /// 0..1). Nearer dips cover more, so the segment's squared gain is a
    /// blend of the minima over growing neighbourhoods, each weighted by
    /// the share only it covers; the release envelopes are charged by the
    /// deepest dip that reaches the segment, as the limiter's are.
    pub fn energy_weights(
        &self,
        input_gain: f64,
        ceiling_dbtp: f64,
        peaks: &[f32],
        lengths: &[u32],
        weights: &mut Vec<f32>,
    ) {
        let segments = peaks.len().min(lengths.len());
        weights.clear();
        if segments == 0 {
            return;
        }
        let total: u64 = lengths[..segments].iter().map(|&l| u64::from(l)).sum();
        let mean = (total as f64 / segments as f64).max(1.0);
        // cover[k]: share of a segment covered by dips from k segments away.
        let half_width = self.dip_frames / (2.0 * mean) + 0.5;
        let mut cover = [0.0f64; MAX_REACH + 2];
        for (k, c) in cover.iter_mut().enumerate() {
            *c = (half_width - k as f64).clamp(0.0, 1.0);
        }
        cover[0] = 1.0;
        let reach = (1..=MAX_REACH).take_while(|&k| cover[k] > 0.0).count();
        // Dips from farther than the model looks are left out (segments
        // that short next to the lookahead are not made by the engine).
        cover[reach + 1] = 0.0;
        let target = 10f64.powf((ceiling_dbtp - TRUE_PEAK_MARGIN_DB) / 20.0);
        let required: Vec<f64> = peaks[..segments]
            .iter()
            .map(|&p| {
                let peak = f64::from(p) * input_gain;
                if peak > target { target / peak } else { 1.0 }
            })
            .collect();
        let mut powers = Powers::new(self.release);
        let (mut fast, mut slow) = (0.0f64, 0.0f64);
        let level = input_gain * input_gain;
        let mut nested = [1.0f64; MAX_REACH + 1];
        weights.extend((0..segments).map(|s| {
            // nested[k]: the lowest requirement within k segments.
            let mut held = required[s];
            nested[0] = held;
            for (k, slot) in nested.iter_mut().enumerate().take(reach + 1).skip(1) {
                let before = s.checked_sub(k).map_or(1.0, |i| required[i]);
                let after = required.get(s + k).copied().unwrap_or(1.0);
                held = held.min(before).min(after);
                *slot = held;
            }
            if held == 1.0 && fast == 0.0 && slow == 0.0 {
                return level as f32;
            }
            let wanted = 1.0 - held;
            let len = lengths[s];
            // What the release still holds half way through the segment,
            // before this segment's dips charge the envelopes (a dip that
            // covers part of the segment reduces only that part).
            let first = len / 2;
            let (f, _, sl) = powers.of(first);
            let allowed = 1.0 - (fast * f).max(slow * sl);
            for steps in [first, len - first] {
                let (f, a, sl) = powers.of(steps);
                fast = (fast * f).max(wanted);
                slow = if wanted > slow {
                    wanted + (slow - wanted) * a
                } else {
                    slow * sl
                };
                if fast < REDUCTION_FLOOR {
                    fast = 0.0;
                }
                if slow < REDUCTION_FLOOR {
                    slow = 0.0;
                }
            }
            let squared: f64 = (0..=reach)
                .map(|k| {
                    let g = nested[k].min(allowed);
                    (cover[k] - cover[k + 1]) * g * g
                })
                .sum();
            (level * squared) as f32
        }));
    }
}

/// The release coefficients raised to a number of frames, remembered for
/// the few lengths a segment grid has.
#[derive(Debug)]
struct Powers {
    release: Release,
    known: Vec<(u32, (f64, f64, f64))>,
}

impl Powers {
    fn new(release: Release) -> Self {
        Self {
            release,
            known: Vec::with_capacity(4),
        }
    }

    fn of(&mut self, steps: u32) -> (f64, f64, f64) {
        if let Some(&(_, p)) = self.known.iter().find(|(s, _)| *s == steps) {
            return p;
        }
        let n = steps as i32;
        let r = self.release;
        let p = (r.fast.powi(n), r.slow_attack.powi(n), r.slow.powi(n));
        self.known.push((steps, p));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, freq: f64, rate: f64, amplitude: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin() as f32)
            .collect()
    }

    fn read_all(reader: &mut PeakReader, l: &[f32], r: &[f32], piece: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for (a, b) in l.chunks(piece).zip(r.chunks(piece)) {
            reader.push(a, b, &mut out);
        }
        reader.finish(&mut out);
        out
    }

    #[test]
    fn readings_do_not_depend_on_piece_sizes_and_line_up_with_frames() {
        let n = 5_000;
        let l = sine(n, 3_001.0, 44_100.0, 0.5);
        let mut r = vec![0.0f32; n];
        // An impulse on the right channel only, louder than the sine.
        r[2_345] = 0.9;
        let whole = read_all(&mut PeakReader::new(44_100).unwrap(), &l, &r, n);
        assert_eq!(whole.len(), n);
        for piece in [1, 7, 511, 512, 513, 4_096] {
            let cut = read_all(&mut PeakReader::new(44_100).unwrap(), &l, &r, piece);
            assert_eq!(cut, whole, "pieces of {piece}");
        }
        let loudest =
            whole.iter().enumerate().fold(
                (0, 0.0f32),
                |(i, m), (j, &v)| if v > m { (j, v) } else { (i, m) },
            );
        assert_eq!(
            loudest.0, 2_345,
            "the impulse's reading is on its own frame"
        );
        // A 997 Hz sine reads its amplitude, within the passband ripple of
        // the 8x reconstruction (a Kaiser-window half-band designed for
        // -40 dB of rejection ripples by as much in its passband: 1 %).
        const SINE_READING_TOL: f32 = 0.01;
        let tone = sine(n, 997.0, 44_100.0, 0.5);
        let readings = read_all(&mut PeakReader::new(44_100).unwrap(), &tone, &tone, n);
        for &v in &readings[100..n - 100] {
            assert!(v <= 0.5 * (1.0 + SINE_READING_TOL), "{v}");
        }
        let max = readings.iter().fold(0.0f32, |m, &v| m.max(v));
        assert!((max - 0.5).abs() <= 0.5 * SINE_READING_TOL, "{max}");
    }

    #[test]
    fn a_steady_tone_is_brought_to_the_target_and_a_quiet_one_is_left_alone() {
        let settings = LimiterSettings {
            enabled: true,
            ..LimiterSettings::default()
        };
        let model = LimiterModel::new(&settings, 44_100).unwrap();
        let peaks = vec![0.5f32; 2_000];
        let lengths = vec![32u32; 2_000];
        let mut weights = Vec::new();
        let ceiling = -1.0;
        let target = 10f64.powf((ceiling - TRUE_PEAK_MARGIN_DB) / 20.0);
        // 6 dB over the target: every segment ends at the target's level.
        let gain = 2.0 * target / 0.5;
        model.energy_weights(gain, ceiling, &peaks, &lengths, &mut weights);
        let want = (target / 0.5).powi(2);
        for &w in &weights {
            assert!((f64::from(w) / want - 1.0).abs() < 1e-6, "{w} vs {want}");
        }
        // Under the target: plain gain.
        let gain = 0.9 * target / 0.5;
        model.energy_weights(gain, ceiling, &peaks, &lengths, &mut weights);
        assert!(weights.iter().all(|&w| w == (gain * gain) as f32));
        // A lone peak pulls its neighbours down, then releases. With a
        // 1.5 ms lookahead at 44.1 kHz its dip is 66 + 2·9 = 84 frames
        // wide, so it covers the 32-frame segment before it for
        // 84/64 + 1/2 − 1 = 0.8125 of its length.
        let short = LimiterModel::new(
            &LimiterSettings {
                lookahead_ms: 1.5,
                ..settings.clone()
            },
            44_100,
        )
        .unwrap();
        let mut lone = vec![0.1f32; 2_000];
        lone[1_000] = 1.0;
        short.energy_weights(1.0, ceiling, &lone, &lengths, &mut weights);
        assert!(weights[..999].iter().all(|&w| w == 1.0));
        let dipped = target * target;
        assert!((f64::from(weights[1_000]) / dipped - 1.0).abs() < 1e-6);
        let before = 0.1875 + 0.8125 * dipped;
        assert!((f64::from(weights[999]) / before - 1.0).abs() < 1e-6);
        assert!(weights[1_000] < weights[1_001]);
        assert!(weights[1_001] < weights[1_100]);
        assert!(weights[1_100] < 1.0);
    }
}
