//! Process → re-measure → adjust → encode: everything after the plan that
//! touches audio.
//!
//! Order matters for the ceiling. The chain up to (not including) gain and
//! limiter runs once at the source rate; the result is converted to the
//! delivery rate *before* the loudness loop, because resampling a limited
//! signal rebuilds its inter-sample peaks and can push them over the
//! ceiling. The gate then measures what is actually delivered: for integer
//! formats the dithered, quantised samples the loop's kept pass made (see
//! the `delivery` module) and the encoder writes, for MP3 the decoded MP3
//! itself. MP3 encoding moves peaks (the codec discards and smears
//! energy), so if the decoded MP3 reads over the ceiling the limiter runs
//! again with a ceiling lowered by the overshoot and the file is
//! re-encoded, a bounded number of times, each attempt recorded.

use crate::error::EngineError;
use crate::loudness_loop::{LoopReport, LoudnessFit, PassOptions, PassOutput, fit_loudness_with};
use crate::loudness_model::{LoudnessModel, ModelRecorder};
use crate::stream::{
    CHAIN_BLOCK_FRAMES, Meter, WalkError, analyse_measured, decode_to_spool, each_piece,
    run_chain_beside,
};
use lacquer_analysis::Measured;
use lacquer_core::chain::LimiterSettings;
use lacquer_core::{Analysis, ChainSettings, Plan};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::{Chain, ChainMeters};
use lacquer_io::{
    DEFAULT_SPILL_FRAMES, DecodeOptions, FlacWriter, Mp3Writer, OutputFormat, Spool, SpoolWriter,
    StagedFile, StreamResampler, WavWriter,
};
use serde::{Deserialize, Serialize};
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Sample rates a master is delivered at.
pub const DELIVERY_RATES_HZ: [u32; 2] = [44_100, 48_000];
/// MP3 encode attempts before giving up on the ceiling (each lowers the
/// limiter's ceiling by the last overshoot).
pub const MAX_MP3_ATTEMPTS: usize = 3;
/// Extra room taken below the ceiling on an MP3 retry, dB, on top of the
/// measured overshoot: the codec's peak error varies a little between
/// encodes of slightly different input.
pub const MP3_RETRY_MARGIN_DB: f64 = 0.1;

/// How the master is delivered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportOptions {
    pub format: OutputFormat,
    /// `None`: keep the source rate when it is a delivery rate, otherwise
    /// 48 kHz for multiples of 48 kHz and 44.1 kHz for the rest.
    pub sample_rate_hz: Option<u32>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            format: OutputFormat::Wav(lacquer_io::WavEncoding::Pcm24),
            sample_rate_hz: None,
        }
    }
}

/// Where the work goes while a master is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderTarget {
    /// `None`: the encoded file is kept in memory ([`Encoded::Bytes`]).
    /// `Some(path)`: it is written as it is made to a hidden temporary file
    /// beside `path` ([`Encoded::Staged`]), named `path` only on commit.
    pub destination: Option<PathBuf>,
    /// Intermediate audio moves from memory to a temporary file past this
    /// many frames ([`DEFAULT_SPILL_FRAMES`]: a few minutes).
    pub spill_frames: usize,
}

impl Default for RenderTarget {
    fn default() -> Self {
        Self {
            destination: None,
            spill_frames: DEFAULT_SPILL_FRAMES,
        }
    }
}

/// The encoded master.
#[derive(Debug)]
pub enum Encoded {
    Bytes(Vec<u8>),
    /// Written to disk under a temporary name; [`StagedFile::commit`] names it.
    Staged(StagedFile),
}

impl Encoded {
    /// Size of the file in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Encoded::Bytes(b) => b.len() as u64,
            Encoded::Staged(f) => f.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when they are held in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Encoded::Bytes(b) => Some(b),
            Encoded::Staged(_) => None,
        }
    }
}

/// The delivery rate for a source rate and an optional request.
pub fn delivery_rate_hz(source_hz: u32, requested: Option<u32>) -> Result<u32, EngineError> {
    match requested {
        Some(r) if DELIVERY_RATES_HZ.contains(&r) => Ok(r),
        Some(r) => Err(EngineError::UnsupportedDeliveryRate { rate_hz: r }),
        None if DELIVERY_RATES_HZ.contains(&source_hz) => Ok(source_hz),
        None if source_hz.is_multiple_of(48_000) => Ok(48_000),
        None => Ok(44_100),
    }
}

/// One MP3 encode and what its decoded true peak read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodeAttempt {
    pub limiter_ceiling_dbtp: f64,
    pub decoded_true_peak_dbtp: Option<f64>,
    pub over_ceiling: bool,
}

/// The finished master.
#[derive(Debug)]
pub struct Rendered {
    /// The complete encoded file.
    pub encoded: Encoded,
    /// The samples a player gets back from the file (for the gate and the
    /// report's output analysis).
    pub delivered: Spool,
    /// The whole analysis of `delivered`.
    pub output_analysis: Analysis,
    pub loudness_loop: LoopReport,
    /// Meters of the pre-limiter chain, with the limiter's from the kept
    /// loop pass.
    pub meters: ChainMeters,
    /// MP3 only: every encode and its decoded peak.
    pub encode_attempts: Vec<EncodeAttempt>,
    /// Wall time of the chain, the loop and the encoding, seconds.
    pub seconds: RenderSeconds,
}

/// Where [`render`]'s wall time went, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RenderSeconds {
    pub chain: f64,
    pub loudness_loop: f64,
    pub encode: f64,
    /// Measuring the delivered samples (for PCM, beside the encoding).
    pub output_analysis: f64,
}

/// The chain without gain and limiter (run once), and the limiter settings
/// the loop uses.
pub fn split_chain(settings: &ChainSettings) -> (ChainSettings, LimiterSettings) {
    let pre = ChainSettings {
        gain_db: 0.0,
        limiter: LimiterSettings {
            enabled: false,
            ..settings.limiter.clone()
        },
        ..settings.clone()
    };
    (pre, settings.limiter.clone())
}

/// Runs the plan on `input` and encodes the result in memory. `label`
/// names the file in errors.
pub fn render(
    input: impl Into<Spool>,
    plan: &Plan,
    export: &ExportOptions,
    label: &Path,
) -> Result<Rendered, EngineError> {
    render_to(input.into(), plan, export, label, &RenderTarget::default())
}

/// [`render`] with the encoded file and the intermediate audio placed as
/// `target` says. Takes the input by value so it can be freed as soon as
/// the chain before the limiter has run.
pub fn render_to(
    input: Spool,
    plan: &Plan,
    export: &ExportOptions,
    label: &Path,
    target: &RenderTarget,
) -> Result<Rendered, EngineError> {
    let rate = delivery_rate_hz(input.sample_rate(), export.sample_rate_hz)?;
    let mut seconds = RenderSeconds::default();
    let started = Instant::now();
    let (pre_settings, limiter) = split_chain(&plan.settings);
    let dsp_err = |source| EngineError::Dsp {
        path: label.to_path_buf(),
        source,
    };
    let keep_err = |source| EngineError::Convert {
        path: label.to_path_buf(),
        step: "keeping the processed audio",
        source,
    };
    // The loop's loudness model reads the pre-limiter signal as the chain
    // makes it, when no rate conversion comes between them.
    let mut model = None;
    let (pre_limiter, mut meters) = if pre_settings == ChainSettings::default() {
        (input, ChainMeters::default())
    } else {
        let mut chain = Chain::new(&pre_settings);
        chain
            .prepare(input.sample_rate(), CHAIN_BLOCK_FRAMES)
            .map_err(dsp_err)?;
        let mut writer =
            SpoolWriter::new(input.sample_rate(), 2, target.spill_frames).expecting(input.len());
        let mut recorder = (input.sample_rate() == rate)
            .then(|| ModelRecorder::new(rate, input.len(), &limiter, label))
            .transpose()?;
        // The chain's side only runs the chain; keeping its output and
        // the model's reading happen beside it.
        run_chain_beside(
            &mut chain,
            &input,
            label,
            |piece, batch| {
                batch.append(piece);
                Ok(())
            },
            |piece| {
                if let Some(r) = &mut recorder {
                    r.push(piece[0], piece[1]);
                }
                writer.push(piece).map_err(keep_err)
            },
        )?;
        model = recorder.map(ModelRecorder::finish);
        // The input is not needed again: free it before the loop's copies.
        drop(input);
        (writer.finish().map_err(keep_err)?, chain.meters())
    };
    let pre_limiter = if pre_limiter.sample_rate() == rate {
        pre_limiter
    } else {
        let convert = |source| EngineError::Convert {
            path: label.to_path_buf(),
            step: "sample-rate conversion",
            source,
        };
        let mut converter =
            StreamResampler::new(pre_limiter.sample_rate(), rate, 2, pre_limiter.len())
                .map_err(convert)?;
        let mut writer =
            SpoolWriter::new(rate, 2, target.spill_frames).expecting(converter.output_len());
        // The converter's own errors and the spool's are told apart.
        let mut keep =
            |piece: &[&[f32]]| writer.push(piece).map_err(|e| WalkError::Step(keep_err(e)));
        let unwalk = |e: WalkError| match e {
            WalkError::Read(e) => convert(e),
            WalkError::Step(e) => e,
        };
        each_piece(&pre_limiter, label, |piece| {
            converter.push(piece, &mut keep).map_err(unwalk)
        })?;
        converter.finish(&mut keep).map_err(unwalk)?;
        drop(pre_limiter);
        writer.finish().map_err(keep_err)?
    };

    seconds.chain = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let model = match model {
        Some(model) => model,
        None => LoudnessModel::measure(&pre_limiter, &limiter, label)?,
    };
    let target_lufs = plan.target.integrated_lufs.0;
    let ceiling = plan.target.ceiling_dbtp.0;
    // An integer file's samples are made in the loop's passes, so the loop
    // measures what is delivered; an MP3's are only known after encoding.
    let pass_output = match export.format.bits_per_sample() {
        Some(bits) => PassOutput::Quantized { bits },
        None => PassOutput::Float,
    };
    let fit = |limiter_ceiling: f64| -> Result<LoudnessFit, EngineError> {
        let mut fit = fit_loudness_with(
            &pre_limiter,
            &model,
            target_lufs,
            limiter_ceiling,
            &limiter,
            label,
            PassOptions {
                spill_frames: target.spill_frames,
                output: pass_output,
            },
        )?;
        // The loop judges against the real ceiling even when the limiter
        // aims lower (an MP3 retry).
        fit.report.ceiling_dbtp = ceiling;
        Ok(fit)
    };
    let mut fitted = fit(ceiling)?;
    seconds.loudness_loop = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut attempts = Vec::new();
    let (encoded, delivered, output_analysis) = match export.format {
        OutputFormat::Mp3(mode) => loop {
            let encoded = encode_mp3(&fitted.output, mode, label, target)?;
            let (delivered, measured) = decode_delivered(
                &encoded,
                export.format,
                fitted.output.sample_rate(),
                label,
                target.spill_frames,
            )?;
            let peak = measured.max_true_peak_dbtp().map(|d| d.0);
            let used_ceiling = fitted
                .report
                .chosen()
                .map_or(ceiling, |p| p.limiter_ceiling_dbtp);
            let over = peak.filter(|&p| p > ceiling);
            attempts.push(EncodeAttempt {
                limiter_ceiling_dbtp: used_ceiling,
                decoded_true_peak_dbtp: peak,
                over_ceiling: over.is_some(),
            });
            match over {
                Some(p) if attempts.len() < MAX_MP3_ATTEMPTS => {
                    // Only the limiter aims lower; the loop still checks
                    // the real ceiling. The rejected encode is dropped
                    // (a staged file is removed).
                    drop(encoded);
                    fitted = fit(used_ceiling - (p - ceiling) - MP3_RETRY_MARGIN_DB)?;
                }
                _ => {
                    seconds.encode = started.elapsed().as_secs_f64();
                    let (analysis, analysis_seconds) =
                        timed(|| analyse_measured(&delivered, &measured, label));
                    seconds.output_analysis = analysis_seconds;
                    break (encoded, delivered, analysis?);
                }
            }
        },
        _ => {
            // Only an MP3 retry needs the pre-limiter signal again.
            drop(pre_limiter);
            // The file and the analysis read the same samples, independently.
            let delivered = &fitted.output;
            let ((encoded, encode_seconds), (analysis, analysis_seconds)) = rayon::join(
                || timed(|| encode_pcm(delivered, export.format, label, target)),
                || timed(|| analyse_measured(delivered, &fitted.measured, label)),
            );
            (seconds.encode, seconds.output_analysis) = (encode_seconds, analysis_seconds);
            (encoded?, fitted.output, analysis?)
        }
    };
    meters.limiter = fitted.limiter_meters.limiter;
    meters.latency_frames += fitted.limiter_meters.latency_frames;
    Ok(Rendered {
        encoded,
        delivered,
        output_analysis,
        loudness_loop: fitted.report,
        meters,
        encode_attempts: attempts,
        seconds,
    })
}

/// `f`'s result and its wall time, seconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let result = f();
    (result, started.elapsed().as_secs_f64())
}

/// Writes a PCM master from the samples a player gets back: for integer
/// formats the loop's quantised pass (on the grid already, so the encoder
/// packs them exactly, undithered: an integer over 2^(bits-1) is exact in
/// f32 for 16 and 24 bits), for float WAV the master itself.
fn encode_pcm(
    delivered: &Spool,
    format: OutputFormat,
    label: &Path,
    target: &RenderTarget,
) -> Result<Encoded, EngineError> {
    let encode_err = |source| EngineError::Convert {
        path: label.to_path_buf(),
        step: "encoding",
        source,
    };
    let rate = delivered.sample_rate();
    let frames = delivered.len();
    let staged = |path: &Path| StagedFile::create(path).map_err(EngineError::Output);
    let mut pcm = match (format, &target.destination) {
        (OutputFormat::Wav(encoding), None) => PcmOut::WavMemory(
            WavWriter::new(Vec::new(), rate, 2, frames, encoding, false).map_err(encode_err)?,
        ),
        (OutputFormat::Wav(encoding), Some(path)) => PcmOut::WavStaged(
            WavWriter::new(staged(path)?, rate, 2, frames, encoding, false).map_err(encode_err)?,
        ),
        (OutputFormat::Flac(depth), None) => PcmOut::FlacMemory(
            FlacWriter::new(Cursor::new(Vec::new()), rate, 2, frames, depth, false)
                .map_err(encode_err)?,
        ),
        (OutputFormat::Flac(depth), Some(path)) => PcmOut::FlacStaged(
            FlacWriter::new(staged(path)?, rate, 2, frames, depth, false).map_err(encode_err)?,
        ),
        (OutputFormat::Mp3(_), _) => {
            return Err(encode_err(lacquer_io::IoError::Encode {
                format: format.to_string(),
                detail: "not a PCM format".to_owned(),
            }));
        }
    };
    each_piece(delivered, label, |piece| {
        pcm.push(piece).map_err(encode_err)
    })?;
    pcm.finish().map_err(encode_err)
}

/// A PCM master being written to memory or to the staged file.
enum PcmOut {
    WavMemory(WavWriter<Vec<u8>>),
    WavStaged(WavWriter<StagedFile>),
    FlacMemory(FlacWriter<Cursor<Vec<u8>>>),
    FlacStaged(FlacWriter<StagedFile>),
}

impl PcmOut {
    fn push(&mut self, piece: &[&[f32]]) -> Result<(), lacquer_io::IoError> {
        match self {
            PcmOut::WavMemory(w) => w.push(piece),
            PcmOut::WavStaged(w) => w.push(piece),
            PcmOut::FlacMemory(w) => w.push(piece),
            PcmOut::FlacStaged(w) => w.push(piece),
        }
    }

    fn finish(self) -> Result<Encoded, lacquer_io::IoError> {
        Ok(match self {
            PcmOut::WavMemory(w) => Encoded::Bytes(w.finish()?),
            PcmOut::WavStaged(w) => Encoded::Staged(w.finish()?),
            PcmOut::FlacMemory(w) => Encoded::Bytes(w.finish()?.into_inner()),
            PcmOut::FlacStaged(w) => Encoded::Staged(w.finish()?),
        })
    }
}

/// Encodes the master as MP3, piece by piece, to memory or to the staged
/// file.
fn encode_mp3(
    master: &Spool,
    mode: lacquer_io::Mp3Mode,
    label: &Path,
    target: &RenderTarget,
) -> Result<Encoded, EngineError> {
    let convert = |source| EngineError::Convert {
        path: label.to_path_buf(),
        step: "encoding",
        source,
    };
    let rate = master.sample_rate();
    let frames = master.len();
    match &target.destination {
        None => {
            let mut mp3 =
                Mp3Writer::new(Cursor::new(Vec::new()), rate, frames, mode).map_err(convert)?;
            each_piece(master, label, |piece| mp3.push(piece).map_err(convert))?;
            Ok(Encoded::Bytes(mp3.finish().map_err(convert)?.into_inner()))
        }
        Some(path) => {
            let staged = StagedFile::create(path).map_err(EngineError::Output)?;
            let mut mp3 = Mp3Writer::new(staged, rate, frames, mode).map_err(convert)?;
            each_piece(master, label, |piece| mp3.push(piece).map_err(convert))?;
            Ok(Encoded::Staged(mp3.finish().map_err(convert)?))
        }
    }
}

/// Decodes an encoded master back, piece by piece: the samples a player
/// gets (kept in a spool) and their loudness and true peak.
fn decode_delivered(
    encoded: &Encoded,
    format: OutputFormat,
    rate_hz: u32,
    label: &Path,
    spill_frames: usize,
) -> Result<(Spool, Measured), EngineError> {
    let convert = |source| EngineError::Convert {
        path: label.to_path_buf(),
        step: "decoding the encoded master",
        source,
    };
    let io = |e: std::io::Error| {
        convert(lacquer_io::IoError::Write {
            path: std::env::temp_dir(),
            source: e,
        })
    };
    // The decoder reads files: bytes in memory go to a private one.
    let mut private = None;
    let path = match encoded {
        Encoded::Staged(staged) => staged.temp_path().to_path_buf(),
        Encoded::Bytes(bytes) => {
            let mut tmp = tempfile::Builder::new()
                .prefix("lacquer-check-")
                .suffix(&format!(".{}", format.extension()))
                .tempfile()
                .map_err(io)?;
            tmp.write_all(bytes).map_err(io)?;
            tmp.flush().map_err(io)?;
            let path = tmp.path().to_path_buf();
            private = Some(tmp);
            path
        }
    };
    // A master is as long as its input, which was already accepted.
    let options = DecodeOptions {
        max_duration_seconds: f64::MAX,
        ..DecodeOptions::default()
    };
    let mut meter = Meter::new(rate_hz, label)?;
    let (delivered, source) =
        decode_to_spool(&path, &options, spill_frames, label, convert, |_, piece| {
            meter.push(piece)
        })?;
    drop(private);
    if source.sample_rate != rate_hz {
        return Err(convert(lacquer_io::IoError::Encode {
            format: format.to_string(),
            detail: format!(
                "the encoded master decodes at {} Hz, not {rate_hz} Hz",
                source.sample_rate
            ),
        }));
    }
    Ok((delivered, meter.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lacquer_core::AudioBuffer;
    use lacquer_io::{decode_file, encode_to_vec};

    /// Decodes encoded bytes through a temporary file.
    fn decode_bytes(
        bytes: &[u8],
        format: OutputFormat,
        _label: &Path,
    ) -> Result<AudioBuffer, EngineError> {
        let mut tmp = tempfile::Builder::new()
            .suffix(&format!(".{}", format.extension()))
            .tempfile()
            .unwrap();
        tmp.write_all(bytes).unwrap();
        tmp.flush().unwrap();
        Ok(decode_file(tmp.path(), &DecodeOptions::default())
            .unwrap()
            .buffer)
    }

    #[test]
    fn delivery_rate_keeps_delivery_rates_and_maps_the_rest() {
        assert_eq!(delivery_rate_hz(44_100, None).unwrap(), 44_100);
        assert_eq!(delivery_rate_hz(48_000, None).unwrap(), 48_000);
        assert_eq!(delivery_rate_hz(96_000, None).unwrap(), 48_000);
        assert_eq!(delivery_rate_hz(88_200, None).unwrap(), 44_100);
        assert_eq!(delivery_rate_hz(22_050, None).unwrap(), 44_100);
        assert_eq!(delivery_rate_hz(44_100, Some(48_000)).unwrap(), 48_000);
        assert!(delivery_rate_hz(44_100, Some(96_000)).is_err());
    }

    /// What the loop's pass hands on for `format`, spooled.
    fn quantized(master: &AudioBuffer, format: OutputFormat, spill_frames: usize) -> Spool {
        let mut writer = SpoolWriter::new(master.sample_rate(), 2, spill_frames);
        let mut keep = |piece: &[&[f32]]| -> Result<(), EngineError> {
            writer.push(piece).unwrap();
            Ok(())
        };
        let piece = [master.channel(0), master.channel(1)];
        match format.bits_per_sample() {
            Some(bits) => {
                let mut q = crate::delivery::Quantizing::new(bits, true);
                // Uneven pieces: the dither runs on across them.
                for (l, r) in piece[0].chunks(7_777).zip(piece[1].chunks(7_777)) {
                    q.push(&[l, r], &mut keep).unwrap();
                }
                assert!(!q.raw_on_grid());
            }
            None => keep(&piece).unwrap(),
        }
        writer.finish().unwrap()
    }

    #[test]
    fn pcm_written_from_the_delivered_samples_is_the_plain_dithered_encode() {
        use lacquer_io::{FlacDepth, WavEncoding};
        let label = Path::new("test.wav");
        // Off the grid everywhere, so the dither is active; over the
        // decoder's 1 s minimum.
        let wave = |phase: f32| -> Vec<f32> {
            (0..50_000)
                .map(|i| 0.7 * (i as f32 * 0.013 + phase).sin() + 1e-7)
                .collect()
        };
        let master = AudioBuffer::stereo(44_100, wave(0.0), wave(1.0)).unwrap();
        for format in [
            OutputFormat::Wav(WavEncoding::Pcm16),
            OutputFormat::Wav(WavEncoding::Pcm24),
            OutputFormat::Wav(WavEncoding::Float32),
            OutputFormat::Flac(FlacDepth::Bits16),
            OutputFormat::Flac(FlacDepth::Bits24),
        ] {
            let plain = encode_to_vec(&master, format).unwrap();
            // In memory, and with every intermediate on disk.
            for spill_frames in [usize::MAX, 0] {
                let target = RenderTarget {
                    destination: None,
                    spill_frames,
                };
                let delivered = quantized(&master, format, spill_frames);
                let encoded = encode_pcm(&delivered, format, label, &target).unwrap();
                assert!(
                    encoded.bytes() == Some(plain.as_slice()),
                    "{format}, spill at {spill_frames}: bytes differ"
                );
                let decoded = decode_bytes(&plain, format, label).unwrap();
                assert_eq!(
                    decoded.channels(),
                    delivered.to_buffer().unwrap().channels(),
                    "{format}"
                );
            }
        }
    }

    #[test]
    fn split_chain_removes_gain_and_limiter_only() {
        let mut s = ChainSettings {
            gain_db: 3.0,
            ..ChainSettings::default()
        };
        s.limiter.enabled = true;
        s.limiter.ceiling_dbtp = -2.0;
        s.glue.enabled = true;
        let (pre, limiter) = split_chain(&s);
        assert_eq!(pre.gain_db, 0.0);
        assert!(!pre.limiter.enabled);
        assert!(pre.glue.enabled);
        assert!(limiter.enabled);
        assert_eq!(limiter.ceiling_dbtp, -2.0);
    }
}
