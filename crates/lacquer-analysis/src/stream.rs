//! The analysis fed in pieces, for inputs too long to hold in memory.
//!
//! Two passes over the same audio, because most figures are judged against
//! the track's own integrated loudness (the spectrum, the correlation and
//! the dynamics count only what passes its gates), which is known only at
//! the end: [`FirstPass`] measures loudness and true peak, and its result
//! opens a [`SecondPass`] for everything else. Each measurement gathers the
//! same whole units (10 ms blocks, 100 ms sub-blocks, FFT frames) that a
//! whole-buffer pass reads and sums them in the same order, so the record
//! is bit-identical to [`crate::analyze`]'s however the audio was cut;
//! `analyze` itself is one piece per pass. Memory is a few carry buffers
//! plus the 10 ms block grid (about 6 MB per hour).

use crate::dynamics::LowEndStream;
use crate::loudness::{KWeightedBlocks, LoudnessDetail, LoudnessSummary};
use crate::spectrum::SpectrumStream;
use crate::time_stats::{TimeStream, subblock_end};
use crate::true_peak::TruePeakStream;
use crate::{AnalysisError, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, all_finite, join};
use lacquer_core::Analysis;
use lacquer_core::units::{Db, Lufs};

/// Cuts a stream of stereo pieces into consecutive whole segments. A
/// segment that lies inside one piece is handed out from it (no copy);
/// one that spans pieces is gathered in a carry buffer first.
#[derive(Debug, Default)]
pub(crate) struct Segmenter {
    carry_l: Vec<f32>,
    carry_r: Vec<f32>,
    /// Index of the segment being gathered.
    index: usize,
    /// Frames pushed so far.
    position: usize,
}

impl Segmenter {
    /// Feeds a piece; `end_of(i)` is the end frame of segment `i` (`None`
    /// once no whole segment follows: the rest is kept as the tail), and
    /// `on_segment(i, left, right)` gets each segment when it is complete.
    pub(crate) fn push(
        &mut self,
        left: &[f32],
        right: &[f32],
        end_of: impl Fn(usize) -> Option<usize>,
        mut on_segment: impl FnMut(usize, &[f32], &[f32]),
    ) {
        let mut from = 0;
        while from < left.len() {
            let available = left.len() - from;
            let missing = end_of(self.index).map(|end| end - self.position);
            match missing {
                Some(missing) if missing <= available => {
                    let to = from + missing;
                    if self.carry_l.is_empty() {
                        on_segment(self.index, &left[from..to], &right[from..to]);
                    } else {
                        self.carry_l.extend_from_slice(&left[from..to]);
                        self.carry_r.extend_from_slice(&right[from..to]);
                        on_segment(self.index, &self.carry_l, &self.carry_r);
                        self.carry_l.clear();
                        self.carry_r.clear();
                    }
                    self.index += 1;
                    self.position += missing;
                    from = to;
                }
                _ => {
                    self.carry_l.extend_from_slice(&left[from..]);
                    self.carry_r.extend_from_slice(&right[from..]);
                    self.position += available;
                    from = left.len();
                }
            }
        }
    }

    /// What was pushed after the last whole segment.
    pub(crate) fn tail(&self) -> (&[f32], &[f32]) {
        (&self.carry_l, &self.carry_r)
    }
}

/// Checks a piece: the stream's channel count, equal lengths, finite
/// samples (`offset`: frames before the piece, for the error).
fn check_piece(
    channels: &[&[f32]],
    expected: usize,
    offset: usize,
) -> Result<usize, AnalysisError> {
    if channels.len() != expected {
        return Err(AnalysisError::PieceChannels {
            expected,
            got: channels.len(),
        });
    }
    let frames = channels[0].len();
    if channels.iter().any(|c| c.len() != frames) {
        return Err(AnalysisError::PieceLengths);
    }
    for (channel, samples) in channels.iter().enumerate() {
        if !all_finite(samples) {
            let frame = samples.iter().position(|s| !s.is_finite()).unwrap_or(0);
            return Err(AnalysisError::NonFiniteSample {
                channel,
                frame: offset + frame,
            });
        }
    }
    Ok(frames)
}

/// The pair a piece is measured as (mono: the same samples twice).
fn stereo<'a>(channels: &[&'a [f32]]) -> (&'a [f32], &'a [f32]) {
    (channels[0], channels[channels.len() - 1])
}

/// A piece handler for [`analyze_in_two_walks`].
pub type PieceSink<'a> = dyn FnMut(&[&[f32]]) -> Result<(), AnalysisError> + 'a;

/// The whole analysis of audio its caller holds elsewhere (a spool in
/// memory or on disk, a corrected copy made piece by piece) and can walk
/// twice: `walk(sink)` must hand every piece of `channels` channels at
/// `rate_hz`, in order, to `sink`, and pass on `sink`'s errors through
/// `err`. The two passes ([`FirstPass`], then [`SecondPass`]) run their
/// measurements side by side on rayon's pool; the result is
/// [`crate::analyze`]'s.
pub fn analyze_in_two_walks<E>(
    rate_hz: u32,
    channels: usize,
    err: impl Fn(AnalysisError) -> E,
    mut walk: impl FnMut(&mut PieceSink<'_>) -> Result<(), E>,
) -> Result<Analysis, E> {
    let mut first = FirstPass::new(rate_hz, channels)
        .map_err(&err)?
        .parallel(true);
    walk(&mut |piece| first.push(piece))?;
    let measured = first.finish().map_err(&err)?;
    let mut second = measured.second_pass();
    walk(&mut |piece| second.push(piece))?;
    second.finish().map_err(err)
}

/// Loudness and true peak, fed in pieces of 1 or 2 planar channels.
pub struct FirstPass {
    rate_hz: u32,
    channels: usize,
    parallel: bool,
    loudness: KWeightedBlocks,
    true_peak: TruePeakStream,
    frames: usize,
}

impl FirstPass {
    /// A pass over `channels` (1 or 2) at `rate_hz` (8–384 kHz).
    pub fn new(rate_hz: u32, channels: usize) -> Result<Self, AnalysisError> {
        if !(1..=2).contains(&channels) {
            return Err(AnalysisError::UnsupportedChannels { channels });
        }
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&rate_hz) {
            return Err(AnalysisError::UnsupportedSampleRate { rate_hz });
        }
        Ok(Self {
            rate_hz,
            channels,
            parallel: false,
            loudness: KWeightedBlocks::new(rate_hz),
            true_peak: TruePeakStream::new(rate_hz, channels),
            frames: 0,
        })
    }

    /// Measures loudness and true peak of each piece side by side on
    /// rayon's pool (the result does not change).
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// The next piece: one slice per channel, all the same length.
    pub fn push(&mut self, channels: &[&[f32]]) -> Result<(), AnalysisError> {
        let frames = check_piece(channels, self.channels, self.frames)?;
        let (left, right) = stereo(channels);
        let (loudness, true_peak) = (&mut self.loudness, &mut self.true_peak);
        join(
            self.parallel,
            || loudness.push(left, right),
            || true_peak.push(channels),
        );
        self.frames += frames;
        Ok(())
    }

    pub fn finish(self) -> Result<Measured, AnalysisError> {
        if self.frames == 0 {
            return Err(AnalysisError::Empty);
        }
        Ok(Measured {
            rate_hz: self.rate_hz,
            channels: self.channels,
            parallel: self.parallel,
            frames: self.frames,
            loud: self.loudness.finish(),
            true_peaks: self.true_peak.finish(),
        })
    }
}

/// What the first pass found.
#[derive(Debug, Clone)]
pub struct Measured {
    rate_hz: u32,
    channels: usize,
    parallel: bool,
    frames: usize,
    loud: LoudnessDetail,
    /// Linear, per source channel.
    true_peaks: Vec<f64>,
}

impl Measured {
    pub fn loudness(&self) -> &LoudnessSummary {
        &self.loud.summary
    }

    pub fn integrated_lufs(&self) -> Option<Lufs> {
        self.loud.summary.integrated
    }

    /// Largest true peak over the channels; `None` for digital silence.
    pub fn max_true_peak_dbtp(&self) -> Option<Db> {
        crate::amplitude_db(self.true_peaks.iter().copied().fold(0.0, f64::max))
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Opens the pass for everything else: push the same audio again.
    pub fn second_pass(&self) -> SecondPass<'_> {
        SecondPass {
            measured: self,
            spectrum: SpectrumStream::new(self.rate_hz, self.channels == 1, &self.loud),
            time: TimeStream::new(self.channels, &self.loud),
            low_end: LowEndStream::new(self.rate_hz, &self.loud),
            subblocks: Segmenter::default(),
            frames: 0,
        }
    }
}

/// Tonal balance, dynamics, stereo and health, given the first pass.
pub struct SecondPass<'a> {
    measured: &'a Measured,
    spectrum: SpectrumStream<'a>,
    time: TimeStream<'a>,
    low_end: LowEndStream<'a>,
    subblocks: Segmenter,
    frames: usize,
}

impl SecondPass<'_> {
    /// The next piece of the same audio the first pass measured.
    pub fn push(&mut self, channels: &[&[f32]]) -> Result<(), AnalysisError> {
        let m = self.measured;
        let frames = check_piece(channels, m.channels, self.frames)?;
        if self.frames + frames > m.frames {
            return Err(AnalysisError::SecondPassLength {
                first: m.frames,
                second: self.frames + frames,
            });
        }
        let (left, right) = stereo(channels);
        let (spectrum, subblocks, time, low_end) = (
            &mut self.spectrum,
            &mut self.subblocks,
            &mut self.time,
            &mut self.low_end,
        );
        let loud = &m.loud;
        join(
            m.parallel,
            || spectrum.push(left, right),
            || {
                subblocks.push(
                    left,
                    right,
                    |j| subblock_end(loud, j),
                    |j, l, r| {
                        time.subblock(j, l, r);
                        low_end.subblock(j, l, r);
                    },
                )
            },
        );
        self.frames += frames;
        Ok(())
    }

    /// The whole record.
    pub fn finish(self) -> Result<Analysis, AnalysisError> {
        let m = self.measured;
        if self.frames != m.frames {
            return Err(AnalysisError::SecondPassLength {
                first: m.frames,
                second: self.frames,
            });
        }
        let Self {
            spectrum,
            mut time,
            low_end,
            subblocks,
            ..
        } = self;
        let (tail_l, tail_r) = subblocks.tail();
        time.tail(tail_l, tail_r);
        let spectral = spectrum.finish();
        let time = time.finish();
        let dynamics = crate::dynamics::finish(&m.loud, m.frames, m.rate_hz, low_end);
        Ok(crate::assemble(
            m.rate_hz,
            m.channels,
            m.frames,
            &m.loud,
            &m.true_peaks,
            spectral.as_ref(),
            &time,
            dynamics,
        ))
    }
}
