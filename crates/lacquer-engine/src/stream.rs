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
/// each piece to `also` as well, with its sample rate. The decoder's own errors go through
/// `decode_err` (a bad input and a bad re-read master are different
/// failures); failing to keep the audio is the engine's.
pub fn decode_to_spool(
    path: &Path,
    options: &DecodeOptions,
    spill_frames: usize,
    label: &Path,
    decode_err: impl Fn(IoError) -> EngineError,
    mut also: impl FnMut(u32, &[&[f32]]) -> Result<(), EngineError>,
) -> Result<(Spool, SourceInfo), EngineError> {
    let keep_err = |source| {
        WalkError::Step(EngineError::Convert {
            path: label.to_path_buf(),
            step: "keeping the decoded audio",
            source,
        })
    };
    lacquer_io::decode_to_spool(
        path,
        options,
        spill_frames,
        keep_err,
        |rate, left, right| also(rate, &[left, right]).map_err(WalkError::Step),
    )
    .map_err(|e| match e {
        WalkError::Read(e) => decode_err(e),
        WalkError::Step(e) => e,
    })
}

/// Frames of decoded audio [`decode_and_measure`] hands across at a time.
const MEASURE_BATCH_FRAMES: usize = 1 << 16;

/// [`decode_to_spool`] with the analysis's first walk (loudness and true
/// peak) made while the file is decoded: the decoder runs on a thread of
/// its own and hands batches of `MEASURE_BATCH_FRAMES` to the meters on
/// the calling thread (whose parallel work stays on the caller's rayon
/// pool). The meters read every sample once, in order, so the result is
/// [`analyse`]'s first walk; [`analyse_measured`] finishes the analysis.
pub fn decode_and_measure(
    path: &Path,
    options: &DecodeOptions,
    spill_frames: usize,
    label: &Path,
    decode_err: impl Fn(IoError) -> EngineError + Send + Sync,
) -> Result<(Spool, SourceInfo, Measured), EngineError> {
    use std::sync::mpsc::{channel, sync_channel};
    // Two batches in flight at most; read batches go back to the decoder
    // to be filled again (no fresh memory per batch).
    let (to_meters, filled) = sync_channel::<(u32, Batch)>(2);
    let (to_decoder, emptied) = channel::<Batch>();
    // The meters drain the channel until the decoder is done, so a send
    // fails only if the measuring side has unwound (a panic, which is
    // re-raised below); this error just stops the decoder.
    let stopped = || EngineError::Convert {
        path: label.to_path_buf(),
        step: "measuring the decoded audio",
        source: IoError::Empty {
            path: label.to_path_buf(),
            detail: "the meters stopped early",
        },
    };
    let decode_err = &decode_err;
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || {
            let mut batch = Batch::default();
            let mut last_rate = 0;
            let decoded = decode_to_spool(
                path,
                options,
                spill_frames,
                label,
                decode_err,
                |rate, piece| {
                    batch.append(piece);
                    last_rate = rate;
                    if batch.len() >= MEASURE_BATCH_FRAMES {
                        let next = emptied.try_recv().unwrap_or_default();
                        let full = std::mem::replace(&mut batch, next);
                        to_meters.send((rate, full)).map_err(|_| stopped())?;
                    }
                    Ok(())
                },
            )?;
            if !batch.is_empty() {
                to_meters.send((last_rate, batch)).map_err(|_| stopped())?;
            }
            Ok::<_, EngineError>(decoded)
        });
        // Made at the first batch, the first moment the rate is known.
        let mut meter: Option<Meter<'_>> = None;
        let mut measuring = Ok(());
        for (rate, mut batch) in filled.iter() {
            // After a failure, keep draining so the decoder is never
            // blocked on a full channel.
            if measuring.is_ok() {
                measuring = (|| {
                    let meter = match &mut meter {
                        Some(meter) => meter,
                        None => meter.insert(Meter::new(rate, label)?),
                    };
                    meter.push(&batch.planes())
                })();
            }
            batch.clear();
            let _ = to_decoder.send(batch);
        }
        let (spool, source) = decoder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        measuring?;
        let measured = meter
            .ok_or_else(|| {
                decode_err(IoError::Empty {
                    path: path.to_path_buf(),
                    detail: "no audio frames",
                })
            })?
            .finish()?;
        Ok((spool, source, measured))
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
/// audio was made (`Meter` over exactly these samples): one walk instead
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

/// Frames of input [`run_chain_beside`] runs through the chain per step.
const BESIDE_FRAMES: usize = 1 << 16;

/// Audio handed from the chain's side of [`run_chain_beside`] to the
/// reader beside it.
#[derive(Default)]
pub(crate) struct Batch([Vec<f32>; 2]);

impl Batch {
    /// Appends a stereo piece.
    pub(crate) fn append(&mut self, piece: &[&[f32]]) {
        self.0[0].extend_from_slice(piece[0]);
        self.0[1].extend_from_slice(piece[piece.len() - 1]);
    }

    fn is_empty(&self) -> bool {
        self.0[0].is_empty()
    }

    fn len(&self) -> usize {
        self.0[0].len()
    }

    fn planes(&self) -> [&[f32]; 2] {
        [&self.0[0], &self.0[1]]
    }

    fn clear(&mut self) {
        self.0[0].clear();
        self.0[1].clear();
    }
}

/// Runs `chain` (prepared for [`CHAIN_BLOCK_FRAMES`]) over `input` from a
/// reset state, its output aligned with the input (the chain's latency is
/// dropped from the front and flushed with silence at the end, so exactly
/// `input.len()` frames come out), split over two workers: `out` gets
/// that output in pieces on the chain's side and appends to the batch
/// whatever `beside` should read; `beside` reads each batch,
/// in order, while the chain runs the next [`BESIDE_FRAMES`] input frames
/// (the two sides run on rayon's pool). Why: work that only reads the
/// output (the loudness model's reading of the pre-limiter signal, a
/// pass's meters) then leaves the path of the chain. `beside` sees every
/// sample once, in order, so its results are those of reading inline.
pub(crate) fn run_chain_beside(
    chain: &mut Chain,
    input: &Spool,
    label: &Path,
    mut out: impl FnMut(&[&[f32]], &mut Batch) -> Result<(), EngineError> + Send,
    mut beside: impl FnMut(&[&[f32]]) -> Result<(), EngineError> + Send,
) -> Result<(), EngineError> {
    let mut feed = ChainFeed::new(chain);
    let (mut ready, mut next) = (Batch::default(), Batch::default());
    let mut read = |batch: &Batch| {
        if batch.is_empty() {
            Ok(())
        } else {
            beside(&[&batch.0[0], &batch.0[1]])
        }
    };
    // One step: the chain fills `next` from `input` (or from its latency's
    // flush) while `beside` reads `ready`; then they trade places.
    let mut step = |input: Option<(&[f32], &[f32])>| -> Result<(), EngineError> {
        let mut collect = |piece: &[&[f32]]| out(piece, &mut next);
        let (made, read_ok) = rayon::join(
            || match input {
                Some((l, r)) => feed.feed(l, r, &mut collect),
                None => feed.flush(&mut collect),
            },
            || read(&ready),
        );
        made?;
        read_ok?;
        std::mem::swap(&mut ready, &mut next);
        next.clear();
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
    read(&ready)
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

#[cfg(test)]
mod tests {
    use super::*;
    use lacquer_core::{AudioBuffer, ChainSettings};
    use lacquer_io::SpoolWriter;

    /// A file of several batches, at 48 kHz and in memory and on disk:
    /// measuring while decoding gives the spool and the analysis of
    /// decoding first and analysing after.
    #[test]
    fn measuring_while_decoding_gives_the_decode_then_analyse_result() {
        use lacquer_io::{FlacDepth, OutputFormat, encode_to_vec};
        let frames = 3 * MEASURE_BATCH_FRAMES + 4_321;
        let wave = |step: f32| -> Vec<f32> {
            (0..frames)
                .map(|i| 0.5 * (i as f32 * step).sin() * (1.0 + (i as f32 * 3e-5).sin()))
                .collect()
        };
        let input = AudioBuffer::stereo(48_000, wave(0.03), wave(0.011)).unwrap();
        let bytes = encode_to_vec(&input, OutputFormat::Flac(FlacDepth::Bits24)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mix.flac");
        std::fs::write(&path, &bytes).unwrap();
        let options = DecodeOptions::default();
        for spill_frames in [usize::MAX, 0] {
            let (plain, _) = decode_to_spool(
                &path,
                &options,
                spill_frames,
                &path,
                EngineError::Input,
                |_, _| Ok(()),
            )
            .unwrap();
            let expected = analyse(&plain, None, &path).unwrap();
            let (spool, source, measured) =
                decode_and_measure(&path, &options, spill_frames, &path, EngineError::Input)
                    .unwrap();
            assert_eq!(source.frames, frames as u64);
            assert_eq!(spool.to_buffer().unwrap(), plain.to_buffer().unwrap());
            assert_eq!(
                analyse_measured(&spool, &measured, &path).unwrap(),
                expected,
                "spill at {spill_frames}"
            );
        }
    }

    /// A bad file is the decoder's error (an invalid input), not a hang or
    /// a panic of the thread, whether it fails at once or midway.
    #[test]
    fn a_bad_file_fails_measuring_while_decoding_as_an_invalid_input() {
        use lacquer_io::{OutputFormat, WavEncoding, encode_to_vec};
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.wav");
        std::fs::write(&garbage, vec![0x5a; 100_000]).unwrap();
        // A WAV cut in its data: the header declares more frames than follow.
        let frames = 4 * MEASURE_BATCH_FRAMES;
        let tone: Vec<f32> = (0..frames).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
        let input = AudioBuffer::stereo(44_100, tone.clone(), tone).unwrap();
        let bytes = encode_to_vec(&input, OutputFormat::Wav(WavEncoding::Pcm16)).unwrap();
        let truncated = dir.path().join("truncated.wav");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        for path in [garbage, truncated] {
            let err = decode_and_measure(
                &path,
                &DecodeOptions::default(),
                usize::MAX,
                &path,
                EngineError::Input,
            )
            .unwrap_err();
            assert!(err.is_invalid_input(), "{}: {err}", path.display());
        }
    }

    /// Three full batches and a partial one, through a chain with latency
    /// (glue and limiter), the input in memory and on disk: what `beside`
    /// reads is what the chain's side handed on, and both are the
    /// whole-buffer run of the chain with its latency removed.
    #[test]
    fn the_reader_beside_the_chain_reads_its_aligned_output_in_order() {
        let frames = 3 * BESIDE_FRAMES + 12_345;
        let wave = |step: f32| -> Vec<f32> {
            (0..frames)
                .map(|i| 0.9 * (i as f32 * step).sin() * (i as f32 * 1e-4).cos())
                .collect()
        };
        let input = AudioBuffer::stereo(44_100, wave(0.01), wave(0.023)).unwrap();
        let mut settings = ChainSettings::default();
        settings.glue.enabled = true;
        settings.limiter.enabled = true;
        settings.gain_db = 6.0;

        let mut whole = Chain::new(&settings);
        let mut reference = None;
        for spill_frames in [usize::MAX, 0] {
            let mut writer = SpoolWriter::new(44_100, 2, spill_frames);
            writer.push(&[input.channel(0), input.channel(1)]).unwrap();
            let spool = writer.finish().unwrap();
            let mut chain = Chain::new(&settings);
            chain.prepare(44_100, CHAIN_BLOCK_FRAMES).unwrap();
            let (mut made, mut read) = (Batch::default(), Batch::default());
            run_chain_beside(
                &mut chain,
                &spool,
                Path::new("test.wav"),
                |piece, batch| {
                    made.append(piece);
                    batch.append(piece);
                    Ok(())
                },
                |piece| {
                    read.append(piece);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(made.0[0].len(), frames);
            assert!(made.0 == read.0, "spill at {spill_frames}");

            let reference = reference.get_or_insert_with(|| {
                let latency = chain.latency();
                assert!(latency > 0);
                whole.prepare(44_100, frames + latency).unwrap();
                let pad = |c: &[f32]| [c, &vec![0.0; latency][..]].concat();
                let (mut l, mut r) = (pad(input.channel(0)), pad(input.channel(1)));
                whole.process(&mut l, &mut r);
                [l[latency..].to_vec(), r[latency..].to_vec()]
            });
            assert!(made.0 == *reference, "spill at {spill_frames}");
        }
    }
}
