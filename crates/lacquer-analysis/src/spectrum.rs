//! Long-term average spectrum (Welch) of the loud part of the track.
//!
//! Frames are gated like BS.1770 integrated loudness (absolute −70 LUFS and
//! relative −10 LU, judged on each frame's own K-weighted loudness), so
//! silence, fades and quiet intros do not pull the curve down or tilt it
//! towards their noise floor: the curve describes what the listener hears
//! most of the time. Every passing frame counts equally.
//!
//! L and R are transformed once each; MID, SIDE, the per-band width and the
//! low-frequency correlation all follow from |L|², |R|² and Re(L·R*).

use crate::loudness::{self, ABSOLUTE_GATE_LUFS, LoudnessDetail, RELATIVE_GATE_LU};
use crate::stream::Segmenter;
use crate::{AnalysisError, StereoView};
use lacquer_core::AudioBuffer;
use lacquer_core::analysis::{SIX_BAND_EDGES_HZ, SixBands, TonalAnalysis};
use lacquer_core::units::{Db, Hz};
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// ISO 266 nominal 1/3-octave centres from 20 Hz to 20 kHz.
pub const THIRD_OCTAVE_CENTRES_HZ: [f64; 31] = [
    20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0,
    500.0, 630.0, 800.0, 1_000.0, 1_250.0, 1_600.0, 2_000.0, 2_500.0, 3_150.0, 4_000.0, 5_000.0,
    6_300.0, 8_000.0, 10_000.0, 12_500.0, 16_000.0, 20_000.0,
];
/// Exponent (base 10, tenths) of the first centre: 1000·10^(−17/10) ≈ 20 Hz.
const FIRST_CENTRE_EXPONENT: i32 = -17;
/// Coarsest bin spacing we accept (1.35 Hz at 44.1 kHz, 1.46 Hz at 48 kHz):
/// the Hann main lobe (4 bins) then fits inside every 1/3 octave from 25 Hz
/// up (the 20 Hz band is 4.6 Hz wide). A longer FFT costs only log(N) more
/// per sample, as the frame count halves with each doubling.
const MAX_BIN_HZ: f64 = 1.5;
/// The level that stands in for an empty band.
pub(crate) const FLOOR_DB: f64 = -200.0;
/// Upper limit of the low-frequency correlation band.
const LOW_CORRELATION_HZ: f64 = 150.0;
/// The "total" the six bands are relative to.
const TOTAL_BAND_HZ: (f64, f64) = (20.0, 20_000.0);

/// What the spectral pass gives the record.
#[derive(Debug, Clone)]
pub(crate) struct SpectralResult {
    pub(crate) tonal: TonalAnalysis,
    pub(crate) width_per_band: SixBands<f64>,
    pub(crate) correlation_below_150hz: Option<f64>,
}

/// The tonal curve alone (runs the loudness pass for the gate).
pub fn tonal_analysis(buffer: &AudioBuffer) -> Result<Option<TonalAnalysis>, AnalysisError> {
    let view = StereoView::new(buffer)?;
    let loud = loudness::measure(&view);
    Ok(measure(&view, &loud).map(|s| s.tonal))
}

fn fft_len(rate_hz: u32) -> usize {
    (f64::from(rate_hz) / MAX_BIN_HZ).ceil() as usize
}

pub(crate) fn measure(view: &StereoView<'_>, loud: &LoudnessDetail) -> Option<SpectralResult> {
    let mut stream = SpectrumStream::new(view.rate_hz, view.source_channels == 1, loud);
    stream.push(view.left, view.right);
    stream.finish()
}

/// The spectral pass fed in pieces: frames are gathered whole (from the
/// piece itself when it holds the frame, else in a carry buffer), then
/// transformed exactly as one whole-buffer pass would, in the same order,
/// so the sums are bit-identical however the signal was cut.
pub(crate) struct SpectrumStream<'a> {
    loud: &'a LoudnessDetail,
    rate_hz: u32,
    /// `None` when nothing passes the loudness gates: no frame counts.
    gate: Option<f64>,
    /// Both channels are the same samples (mono): transform once.
    mono: bool,
    n: usize,
    window: Vec<f32>,
    window_power: f64,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    input: Vec<f32>,
    spec_l: Vec<realfft::num_complex::Complex<f32>>,
    spec_r: Vec<realfft::num_complex::Complex<f32>>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    power_l: Vec<f64>,
    power_r: Vec<f64>,
    cross: Vec<f64>,
    frames: Segmenter,
    /// Whole frames seen (gated or not).
    whole_frames: usize,
    /// Cursor on the 10 ms block grid.
    first_block: usize,
    used: u32,
}

impl<'a> SpectrumStream<'a> {
    pub(crate) fn new(rate_hz: u32, mono: bool, loud: &'a LoudnessDetail) -> Self {
        let gate = loud
            .summary
            .integrated
            .map(|i| (i.0 + RELATIVE_GATE_LU).max(ABSOLUTE_GATE_LUFS));
        let n = fft_len(rate_hz).next_power_of_two();
        // Frames side by side, no overlap: over minutes of programme there
        // are hundreds of frames, so the extra variance of skipping Welch's
        // usual 50 % overlap is negligible next to halving the FFT work (the
        // largest cost of the whole analysis).
        let window: Vec<f32> = (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos()) as f32)
            .collect();
        let window_power: f64 = window.iter().map(|&w| f64::from(w) * f64::from(w)).sum();
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(n);
        let input = fft.make_input_vec();
        let spec_l = fft.make_output_vec();
        let spec_r = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        let bins = spec_l.len();
        Self {
            loud,
            rate_hz,
            gate,
            mono,
            n,
            window,
            window_power,
            fft,
            input,
            spec_l,
            spec_r,
            scratch,
            power_l: vec![0.0; bins],
            power_r: vec![0.0; bins],
            cross: vec![0.0; bins],
            frames: Segmenter::default(),
            whole_frames: 0,
            first_block: 0,
            used: 0,
        }
    }

    pub(crate) fn push(&mut self, left: &[f32], right: &[f32]) {
        let n = self.n;
        let mut frames = std::mem::take(&mut self.frames);
        frames.push(
            left,
            right,
            |k| Some((k + 1) * n),
            |k, l, r| {
                self.whole_frames += 1;
                self.frame(k * n, l, r);
            },
        );
        self.frames = frames;
    }

    /// Adds the frame starting at `start` if it passes the gate.
    fn frame(&mut self, start: usize, left: &[f32], right: &[f32]) {
        let Some(gate) = self.gate else {
            return;
        };
        let end = start + left.len();
        let bounds = &self.loud.block_bounds;
        let block_count = self.loud.block_energy.len();
        while self.first_block < block_count && bounds[self.first_block] < start {
            self.first_block += 1;
        }
        let first_block = self.first_block;
        let mut end_block = first_block;
        while end_block < block_count && bounds[end_block + 1] <= end {
            end_block += 1;
        }
        if end_block == first_block || self.loud.blocks_lufs(first_block, end_block) <= gate {
            return;
        }
        self.used += 1;
        let (fft, window, input, scratch) =
            (&self.fft, &self.window, &mut self.input, &mut self.scratch);
        let mut transform = |samples: &[f32], out: &mut [realfft::num_complex::Complex<f32>]| {
            input.fill(0.0);
            for ((i, &s), &w) in input.iter_mut().zip(samples).zip(window) {
                *i = s * w;
            }
            // Lengths come from the plan, so this cannot fail.
            let _ = fft.process_with_scratch(input, out, scratch);
        };
        transform(left, &mut self.spec_l);
        if !self.mono {
            transform(right, &mut self.spec_r);
        }
        let right = if self.mono {
            &self.spec_l
        } else {
            &self.spec_r
        };
        for (k, (l, r)) in self.spec_l.iter().zip(right.iter()).enumerate() {
            let (lr, li) = (f64::from(l.re), f64::from(l.im));
            let (rr, ri) = (f64::from(r.re), f64::from(r.im));
            self.power_l[k] += lr * lr + li * li;
            self.power_r[k] += rr * rr + ri * ri;
            self.cross[k] += lr * rr + li * ri;
        }
    }

    /// The curve; a signal shorter than one frame is read as one
    /// zero-padded frame.
    pub(crate) fn finish(mut self) -> Option<SpectralResult> {
        if self.whole_frames == 0 {
            let frames = std::mem::take(&mut self.frames);
            let (left, right) = frames.tail();
            if !left.is_empty() {
                self.frame(0, left, right);
            }
        }
        self.gate?;
        let frames_total = self.whole_frames.max(1);
        let Self {
            rate_hz,
            n,
            window_power,
            power_l,
            power_r,
            cross,
            used,
            ..
        } = self;
        if used == 0 {
            return None;
        }
        let bins = power_l.len();

        // Mean square per bin: one-sided Parseval with the window's power.
        let scale = 2.0 / (n as f64 * window_power * f64::from(used));
        let bin_hz = f64::from(rate_hz) / n as f64;
        let nyquist = f64::from(rate_hz) / 2.0;
        let mid: Vec<f64> = (0..bins)
            .map(|k| scale * (power_l[k] + power_r[k] + 2.0 * cross[k]) / 4.0)
            .collect();
        let side: Vec<f64> = (0..bins)
            .map(|k| scale * (power_l[k] + power_r[k] - 2.0 * cross[k]) / 4.0)
            .collect();
        let band_sum = |values: &[f64], lo_hz: f64, hi_hz: f64| -> f64 {
            // Skip DC (bin 0) and Nyquist, which the one-sided scale would double.
            (1..bins - 1)
                .filter(|&k| {
                    let f = k as f64 * bin_hz;
                    f >= lo_hz && f < hi_hz
                })
                .map(|k| values[k].max(0.0))
                .sum()
        };
        let to_db = |energy: f64| {
            Db(if energy > 0.0 {
                (10.0 * energy.log10()).max(FLOOR_DB)
            } else {
                FLOOR_DB
            })
        };

        let mut centres = Vec::new();
        let mut mid_db = Vec::new();
        let mut side_db = Vec::new();
        for (i, &nominal) in THIRD_OCTAVE_CENTRES_HZ.iter().enumerate() {
            if nominal >= nyquist {
                break;
            }
            let exact = 1_000.0 * 10f64.powf(f64::from(FIRST_CENTRE_EXPONENT + i as i32) / 10.0);
            let (lo, hi) = (exact * 10f64.powf(-0.05), exact * 10f64.powf(0.05));
            centres.push(Hz(nominal));
            mid_db.push(to_db(band_sum(&mid, lo, hi)));
            side_db.push(to_db(band_sum(&side, lo, hi)));
        }

        let total = band_sum(&mid, TOTAL_BAND_HZ.0, TOTAL_BAND_HZ.1);
        let bands_db = SixBands::from_array(SIX_BAND_EDGES_HZ.map(|(lo, hi)| {
            let energy = band_sum(&mid, lo, hi);
            if total > 0.0 && energy > 0.0 {
                Db((10.0 * (energy / total).log10()).max(FLOOR_DB))
            } else {
                Db(FLOOR_DB)
            }
        }));
        let width_per_band = SixBands::from_array(SIX_BAND_EDGES_HZ.map(|(lo, hi)| {
            let m = band_sum(&mid, lo, hi);
            let s = band_sum(&side, lo, hi);
            if m + s > 0.0 { s / (m + s) } else { 0.0 }
        }));
        let low_l = band_sum(&power_l, 0.0, LOW_CORRELATION_HZ);
        let low_r = band_sum(&power_r, 0.0, LOW_CORRELATION_HZ);
        let low_cross = (1..bins - 1)
            .filter(|&k| (k as f64 * bin_hz) < LOW_CORRELATION_HZ)
            .map(|k| cross[k])
            .sum::<f64>();
        let correlation_below_150hz = (low_l > 0.0 && low_r > 0.0)
            .then(|| (low_cross / (low_l * low_r).sqrt()).clamp(-1.0, 1.0));

        Some(SpectralResult {
            tonal: TonalAnalysis {
                third_octave_centres_hz: centres,
                mid_db,
                side_db,
                floor_db: Db(FLOOR_DB),
                bands_db,
                frames_used: used,
                frames_total: frames_total as u32,
            },
            width_per_band,
            correlation_below_150hz,
        })
    }
}
