//! Process → re-measure → adjust → encode: everything after the plan that
//! touches audio.
//!
//! Order matters for the ceiling. The chain up to (not including) gain and
//! limiter runs once at the source rate; the result is converted to the
//! delivery rate *before* the loudness loop, because resampling a limited
//! signal rebuilds its inter-sample peaks and can push them over the
//! ceiling. The gate then measures what is actually delivered: for integer
//! formats the dithered, quantised samples the encoder writes (reproduced
//! with the same fixed-seed dither), for MP3 the decoded MP3 itself. MP3
//! encoding moves peaks (the codec discards and smears energy), so if the
//! decoded MP3 reads over the ceiling the limiter runs again with a ceiling
//! lowered by the overshoot and the file is re-encoded, a bounded number of
//! times, each attempt recorded.

use crate::error::EngineError;
use crate::loudness_loop::{LoopReport, fit_loudness};
use lacquer_analysis::true_peak_dbtp;
use lacquer_core::chain::LimiterSettings;
use lacquer_core::{AudioBuffer, ChainSettings, Plan};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::{Chain, ChainMeters};
use lacquer_io::dither::{Dither, full_scale, quantize};
use lacquer_io::{
    DecodeOptions, OutputFormat, decode_file, encode_to_vec, encode_to_vec_with_dither, resample,
};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::Path;
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
/// Block size for the pre-limiter chain.
const BLOCK_FRAMES: usize = 4096;

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
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The complete encoded file.
    pub bytes: Vec<u8>,
    /// The samples a player gets back from `bytes` (for the gate and the
    /// report's output analysis).
    pub delivered: AudioBuffer,
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

/// Runs the plan on `input` and encodes the result. `label` names the file
/// in errors. Takes the input by value so it can be freed as soon as the
/// chain before the limiter has run (one full-length buffer less at the
/// memory peak).
pub fn render(
    input: AudioBuffer,
    plan: &Plan,
    export: &ExportOptions,
    label: &Path,
) -> Result<Rendered, EngineError> {
    let rate = delivery_rate_hz(input.sample_rate(), export.sample_rate_hz)?;
    let mut seconds = RenderSeconds::default();
    let started = Instant::now();
    let (pre_settings, limiter) = split_chain(&plan.settings);
    let dsp_err = |source| EngineError::Dsp {
        path: label.to_path_buf(),
        source,
    };
    let (pre_limiter, mut meters) = if pre_settings == ChainSettings::default() {
        (input, ChainMeters::default())
    } else {
        let mut chain = Chain::new(&pre_settings);
        chain
            .prepare(input.sample_rate(), BLOCK_FRAMES)
            .map_err(dsp_err)?;
        let processed = chain.process_buffer(&input).map_err(dsp_err)?;
        // The input is not needed again: free it before the loop's copies.
        drop(input);
        processed
    };
    let pre_limiter = if pre_limiter.sample_rate() == rate {
        pre_limiter
    } else {
        resample(&pre_limiter, rate).map_err(|source| EngineError::Convert {
            path: label.to_path_buf(),
            step: "sample-rate conversion",
            source,
        })?
    };

    seconds.chain = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let target_lufs = plan.target.integrated_lufs.0;
    let ceiling = plan.target.ceiling_dbtp.0;
    let mut fit = fit_loudness(&pre_limiter, target_lufs, ceiling, &limiter, label)?;
    seconds.loudness_loop = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut attempts = Vec::new();
    let (bytes, delivered) = if !matches!(export.format, OutputFormat::Mp3(_)) {
        // Only an MP3 retry needs the pre-limiter signal again; free it
        // before the delivered copy exists (peak memory).
        drop(pre_limiter);
        let delivered = delivered_pcm(fit.output, export.format, label)?;
        let bytes = encode_delivered_pcm(&delivered, export.format, label)?;
        (bytes, delivered)
    } else {
        loop {
            let bytes = encode(&fit.output, export.format, label)?;
            let delivered = decode_bytes(&bytes, export.format, label)?;
            let peak = true_peak_dbtp(&delivered)
                .map_err(|source| EngineError::Analysis {
                    path: label.to_path_buf(),
                    source,
                })?
                .map(|d| d.0);
            let used_ceiling = fit
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
                    let lower = used_ceiling - (p - ceiling) - MP3_RETRY_MARGIN_DB;
                    // The loop still checks the real ceiling; only the limiter
                    // aims lower.
                    let retry = fit_loudness_with_limiter_ceiling(
                        &pre_limiter,
                        target_lufs,
                        ceiling,
                        lower,
                        &limiter,
                        label,
                    )?;
                    fit = retry;
                }
                _ => break (bytes, delivered),
            }
        }
    };
    seconds.encode = started.elapsed().as_secs_f64();
    meters.limiter = fit.limiter_meters.limiter;
    meters.latency_frames += fit.limiter_meters.latency_frames;
    Ok(Rendered {
        bytes,
        delivered,
        loudness_loop: fit.report,
        meters,
        encode_attempts: attempts,
        seconds,
    })
}

/// [`fit_loudness`] with the limiter aiming at `limiter_ceiling_dbtp` while
/// the loop still judges passes against `ceiling_dbtp`.
fn fit_loudness_with_limiter_ceiling(
    pre_limiter: &AudioBuffer,
    target_lufs: f64,
    ceiling_dbtp: f64,
    limiter_ceiling_dbtp: f64,
    limiter: &LimiterSettings,
    label: &Path,
) -> Result<crate::loudness_loop::LoudnessFit, EngineError> {
    let mut fit = fit_loudness(
        pre_limiter,
        target_lufs,
        limiter_ceiling_dbtp,
        limiter,
        label,
    )?;
    fit.report.ceiling_dbtp = ceiling_dbtp;
    Ok(fit)
}

fn encode(
    buffer: &AudioBuffer,
    format: OutputFormat,
    label: &Path,
) -> Result<Vec<u8>, EngineError> {
    encode_to_vec(buffer, format).map_err(|source| EngineError::Convert {
        path: label.to_path_buf(),
        step: "encoding",
        source,
    })
}

/// The samples a player gets back from a PCM master: for integer formats
/// the dithered, quantised values (the encoder is then handed exactly
/// these, see [`encode_delivered_pcm`]); float WAV is the master itself.
fn delivered_pcm(
    master: AudioBuffer,
    format: OutputFormat,
    label: &Path,
) -> Result<AudioBuffer, EngineError> {
    let Some(bits) = format.bits_per_sample() else {
        return Ok(master);
    };
    let scale = full_scale(bits);
    let quantised = quantize(master.channels(), bits, Dither::Auto);
    let rate = master.sample_rate();
    drop(master);
    let channels = quantised
        .into_iter()
        .map(|c| {
            c.into_iter()
                .map(|v| (f64::from(v) / scale) as f32)
                .collect()
        })
        .collect();
    AudioBuffer::new(rate, channels).map_err(|e| EngineError::Convert {
        path: label.to_path_buf(),
        step: "re-reading the quantised master",
        source: lacquer_io::IoError::Encode {
            format: format.to_string(),
            detail: e.to_string(),
        },
    })
}

/// Encodes samples that are already on the format's grid ([`delivered_pcm`]):
/// without dither, so the file holds exactly the samples the gate measured
/// (an integer over 2^(bits-1) is exact in f32 for 16 and 24 bits, and
/// rounding it back is the identity).
fn encode_delivered_pcm(
    delivered: &AudioBuffer,
    format: OutputFormat,
    label: &Path,
) -> Result<Vec<u8>, EngineError> {
    encode_to_vec_with_dither(delivered, format, Dither::Off).map_err(|source| {
        EngineError::Convert {
            path: label.to_path_buf(),
            step: "encoding",
            source,
        }
    })
}

/// Decodes encoded bytes through a private temporary file (the decoder
/// reads files).
fn decode_bytes(
    bytes: &[u8],
    format: OutputFormat,
    label: &Path,
) -> Result<AudioBuffer, EngineError> {
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
    let mut tmp = tempfile::Builder::new()
        .prefix("lacquer-check-")
        .suffix(&format!(".{}", format.extension()))
        .tempfile()
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.flush().map_err(io)?;
    let decoded = decode_file(tmp.path(), &DecodeOptions::default()).map_err(convert)?;
    Ok(decoded.buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let delivered = delivered_pcm(master.clone(), format, label).unwrap();
            let from_delivered = encode_delivered_pcm(&delivered, format, label).unwrap();
            assert!(plain == from_delivered, "{format}: bytes differ");
            let decoded = decode_bytes(&plain, format, label).unwrap();
            assert_eq!(decoded.channels(), delivered.channels(), "{format}");
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
