//! Walking audio held in a [`Spool`]: the chain, the meters and the
//! analysis all take it a block at a time, so the engine's memory does not
//! grow with the input's length once the spools spill to disk.
//!
//! Every walk gives the bits a whole-buffer pass gives: the chain's output
//! does not depend on block size (lacquer-dsp tests it), and the streamed
//! analysis equals the whole-buffer one (lacquer-analysis tests it). A
//! spool in memory is walked in one piece per pass, a spool on disk in
//! blocks of [`lacquer_io::DISK_BLOCK_FRAMES`] ([`Spool::for_each_piece`]).

use crate::error::EngineError;
use lacquer_analysis::{FirstPass, Measured, analyze_in_two_walks};
use lacquer_core::Analysis;
use lacquer_core::chain::PolaritySettings;
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_dsp::polarity::Polarity;
use lacquer_genre::features::{FeatureError, FeatureSource};
use lacquer_io::{DecodeOptions, IoError, SourceInfo, Spool};
use std::path::Path;

/// Block size the chains are prepared for and run with.
pub const CHAIN_BLOCK_FRAMES: usize = 4096;

/// An error inside a walk: the spool's own reading, or the step's.
#[derive(Debug)]
pub(crate) enum WalkError {
    Read(IoError),
    Step(EngineError),
}

impl From<IoError> for WalkError {
    fn from(e: IoError) -> Self {
        WalkError::Read(e)
    }
}

impl From<EngineError> for WalkError {
    fn from(e: EngineError) -> Self {
        WalkError::Step(e)
    }
}

fn spool_error(label: &Path, source: IoError) -> EngineError {
    EngineError::Convert {
        path: label.to_path_buf(),
        step: "reading the work file back",
        source,
    }
}

/// Calls `f` on consecutive stereo pieces of `spool`.
pub(crate) fn each_piece(
    spool: &Spool,
    label: &Path,
    mut f: impl FnMut(&[&[f32]]) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    spool
        .for_each_piece(|piece| f(piece).map_err(WalkError::Step))
        .map_err(|e| match e {
            WalkError::Read(e) => spool_error(label, e),
            WalkError::Step(e) => e,
        })
}

fn analysis_error(label: &Path) -> impl Fn(lacquer_analysis::AnalysisError) -> EngineError + '_ {
    move |source| EngineError::Analysis {
        path: label.to_path_buf(),
        source,
    }
}

/// Decodes `path` into a spool (spilling past `spill_frames`), handing
/// each piece to `also` as well. The decoder's own errors go through
/// `decode_err` (a bad input and a bad re-read master are different
/// failures); failing to keep the audio is the engine's.
pub fn decode_to_spool(
    path: &Path,
    options: &DecodeOptions,
    spill_frames: usize,
    label: &Path,
    decode_err: impl Fn(IoError) -> EngineError,
    mut also: impl FnMut(&[&[f32]]) -> Result<(), EngineError>,
) -> Result<(Spool, SourceInfo), EngineError> {
    let keep_err = |source| {
        WalkError::Step(EngineError::Convert {
            path: label.to_path_buf(),
            step: "keeping the decoded audio",
            source,
        })
    };
    lacquer_io::decode_to_spool(path, options, spill_frames, keep_err, |left, right| {
        also(&[left, right]).map_err(WalkError::Step)
    })
    .map_err(|e| match e {
        WalkError::Read(e) => decode_err(e),
        WalkError::Step(e) => e,
    })
}

/// The whole analysis of a spool, its measurements side by side on rayon's
/// pool; `polarity` flips channels first (the corrected mix).
pub fn analyse(
    spool: &Spool,
    polarity: Option<&PolaritySettings>,
    label: &Path,
) -> Result<Analysis, EngineError> {
    let rate = spool.sample_rate();
    let mut flipper = polarity.map(|s| Flipper::new(*s));
    let err = analysis_error(label);
    analyze_in_two_walks(rate, spool.num_channels(), &err, |sink| {
        each_piece(spool, label, |piece| {
            match flipper.as_mut() {
                Some(f) => sink(&f.apply(piece, rate)),
                None => sink(piece),
            }
            .map_err(&err)
        })
    })
}

/// The rest of a spool's analysis when its first walk was measured as the
/// audio was made ([`Meter`] over exactly these samples): one walk instead
/// of two, with [`analyse`]'s result.
pub fn analyse_measured(
    spool: &Spool,
    measured: &Measured,
    label: &Path,
) -> Result<Analysis, EngineError> {
    let err = analysis_error(label);
    let mut second = measured.second_pass();
    each_piece(spool, label, |piece| second.push(piece).map_err(&err))?;
    second.finish().map_err(err)
}

/// Runs `chain` (prepared for [`CHAIN_BLOCK_FRAMES`]) over `input` from a
/// reset state and hands on its output aligned with the input, in pieces:
/// the chain's latency is dropped from the front and flushed with silence
/// at the end, so exactly `input.len()` frames come out.
pub(crate) fn run_chain(
    chain: &mut Chain,
    input: &Spool,
    label: &Path,
    mut out: impl FnMut(&[&[f32]]) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let mut feed = ChainFeed::new(chain);
    each_piece(input, label, |piece| {
        feed.feed(piece[0], piece[piece.len() - 1], &mut out)
    })?;
    feed.flush(&mut out)
}

/// Frames of the chain's output [`run_chain_beside`] hands to its reader
/// at a time.
const BESIDE_FRAMES: usize = 1 << 16;

/// [`run_chain`], with a second reader of the output that works beside the
/// chain: `beside` gets the output in batches of [`BESIDE_FRAMES`], in
/// order, each one while the chain makes the next (on rayon's pool). Why:
/// the loudness model reads the whole pre-limiter signal, and reading it
/// as it is made takes that work off the path between chain and loop.
pub(crate) fn run_chain_beside(
    chain: &mut Chain,
    input: &Spool,
    label: &Path,
    mut out: impl FnMut(&[&[f32]]) -> Result<(), EngineError> + Send,
    mut beside: impl FnMut(&[f32], &[f32]) + Send,
) -> Result<(), EngineError> {
    let mut feed = ChainFeed::new(chain);
    let batch = || {
        [
            Vec::with_capacity(BESIDE_FRAMES),
            Vec::with_capacity(BESIDE_FRAMES),
        ]
    };
    let (mut ready, mut next): ([Vec<f32>; 2], [Vec<f32>; 2]) = (batch(), batch());
    // One step: the chain makes `next` from `input` (or its latency's
    // flush) while `beside` reads `ready`; then they trade places.
    let mut step = |input: Option<(&[f32], &[f32])>| -> Result<(), EngineError> {
        let mut collect = |piece: &[&[f32]]| {
            out(piece)?;
            next[0].extend_from_slice(piece[0]);
            next[1].extend_from_slice(piece[1]);
            Ok(())
        };
        let (made, ()) = rayon::join(
            || match input {
                Some((l, r)) => feed.feed(l, r, &mut collect),
                None => feed.flush(&mut collect),
            },
            || {
                if !ready[0].is_empty() {
                    beside(&ready[0], &ready[1]);
                }
            },
        );
        made?;
        std::mem::swap(&mut ready, &mut next);
        next[0].clear();
        next[1].clear();
        Ok(())
    };
    each_piece(input, label, |piece| {
        let (l, r) = (piece[0], piece[piece.len() - 1]);
        for (l, r) in l.chunks(BESIDE_FRAMES).zip(r.chunks(BESIDE_FRAMES)) {
            step(Some((l, r)))?;
        }
        Ok(())
    })?;
    step(None)?;
    if !ready[0].is_empty() {
        beside(&ready[0], &ready[1]);
    }
    Ok(())
}

/// A chain being run from a reset state: drops its latency from the
/// front of the output and flushes it with silence at the end.
struct ChainFeed<'c> {
    chain: &'c mut Chain,
    to_skip: usize,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl<'c> ChainFeed<'c> {
    fn new(chain: &'c mut Chain) -> Self {
        chain.reset();
        let to_skip = chain.latency();
        Self {
            chain,
            to_skip,
            left: vec![0.0; CHAIN_BLOCK_FRAMES],
            right: vec![0.0; CHAIN_BLOCK_FRAMES],
        }
    }

    /// Runs the next input frames through the chain, handing on the
    /// output that is due.
    fn feed(
        &mut self,
        left: &[f32],
        right: &[f32],
        out: &mut impl FnMut(&[&[f32]]) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        for (l, r) in left
            .chunks(CHAIN_BLOCK_FRAMES)
            .zip(right.chunks(CHAIN_BLOCK_FRAMES))
        {
            let n = l.len();
            self.left[..n].copy_from_slice(l);
            self.right[..n].copy_from_slice(r);
            self.chain
                .process(&mut self.left[..n], &mut self.right[..n]);
            let skip = self.to_skip.min(n);
            self.to_skip -= skip;
            if skip < n {
                out(&[&self.left[skip..n], &self.right[skip..n]])?;
            }
        }
        Ok(())
    }

    /// Pushes the chain's latency worth of silence through, so the output
    /// is as long as the input.
    fn flush(
        &mut self,
        out: &mut impl FnMut(&[&[f32]]) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let silence = vec![0.0f32; CHAIN_BLOCK_FRAMES];
        let mut remaining = self.chain.latency();
        while remaining > 0 {
            let n = remaining.min(CHAIN_BLOCK_FRAMES);
            self.feed(&silence[..n], &silence[..n], out)?;
            remaining -= n;
        }
        Ok(())
    }
}

/// Integrated loudness and true peak of pieces as they pass.
pub(crate) struct Meter<'a> {
    first: FirstPass,
    label: &'a Path,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(rate_hz: u32, label: &'a Path) -> Result<Self, EngineError> {
        Ok(Self {
            first: FirstPass::new(rate_hz, 2)
                .map_err(analysis_error(label))?
                .parallel(true),
            label,
        })
    }

    pub(crate) fn push(&mut self, piece: &[&[f32]]) -> Result<(), EngineError> {
        self.first.push(piece).map_err(analysis_error(self.label))
    }

    pub(crate) fn finish(self) -> Result<Measured, EngineError> {
        self.first.finish().map_err(analysis_error(self.label))
    }
}

/// Applies the polarity fix exactly as the chain's first stage does.
fn flip(settings: &PolaritySettings, rate_hz: u32, left: &mut [f32], right: &mut [f32]) {
    let mut stage = Polarity::new(settings);
    // A sign flip has no state; prepare only validates the rate and block,
    // which the decoder already checked.
    if stage.prepare(rate_hz, left.len().max(1)).is_ok() {
        stage.process(left, right);
    }
}

/// The polarity fix on a copy of each piece.
struct Flipper {
    settings: PolaritySettings,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Flipper {
    fn new(settings: PolaritySettings) -> Self {
        Self {
            settings,
            left: Vec::new(),
            right: Vec::new(),
        }
    }

    fn apply(&mut self, piece: &[&[f32]], rate_hz: u32) -> [&[f32]; 2] {
        self.left.clear();
        self.left.extend_from_slice(piece[0]);
        self.right.clear();
        self.right.extend_from_slice(piece[piece.len() - 1]);
        flip(&self.settings, rate_hz, &mut self.left, &mut self.right);
        [&self.left, &self.right]
    }
}

/// A spool as the genre features read it, with the polarity fix applied.
pub(crate) struct Corrected<'a> {
    pub(crate) spool: &'a Spool,
    pub(crate) polarity: Option<PolaritySettings>,
}

impl FeatureSource for Corrected<'_> {
    fn sample_rate(&self) -> u32 {
        self.spool.sample_rate()
    }

    fn frames(&self) -> usize {
        self.spool.len()
    }

    fn channels(&self) -> usize {
        self.spool.num_channels()
    }

    fn read(&self, from: usize, to: usize) -> Result<Vec<Vec<f32>>, FeatureError> {
        let mut planes = self
            .spool
            .read_range(from, to)
            .map_err(FeatureError::Read)?;
        if let (Some(settings), [left, right]) = (&self.polarity, planes.as_mut_slice()) {
            flip(settings, self.spool.sample_rate(), left, right);
        }
        Ok(planes)
    }
}
