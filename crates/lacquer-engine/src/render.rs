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
use lacquer_io::{DecodeOptions, OutputFormat, decode_file, encode_to_vec, resample};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::Path;

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
/// in errors.
pub fn render(
    input: &AudioBuffer,
    plan: &Plan,
    export: &ExportOptions,
    label: &Path,
) -> Result<Rendered, EngineError> {
    let rate = delivery_rate_hz(input.sample_rate(), export.sample_rate_hz)?;
    let (pre_settings, limiter) = split_chain(&plan.settings);
    let dsp_err = |source| EngineError::Dsp {
        path: label.to_path_buf(),
        source,
    };
    let (pre_limiter, mut meters) = if pre_settings == ChainSettings::default() {
        (input.clone(), ChainMeters::default())
    } else {
        let mut chain = Chain::new(&pre_settings);
        chain
            .prepare(input.sample_rate(), BLOCK_FRAMES)
            .map_err(dsp_err)?;
        chain.process_buffer(input).map_err(dsp_err)?
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

    let target_lufs = plan.target.integrated_lufs.0;
    let ceiling = plan.target.ceiling_dbtp.0;
    let mut fit = fit_loudness(&pre_limiter, target_lufs, ceiling, &limiter, label)?;
    let mut attempts = Vec::new();
    let (bytes, delivered) = loop {
        let bytes = encode(&fit.output, export.format, label)?;
        let delivered = delivered_samples(&fit.output, &bytes, export.format, label)?;
        if !matches!(export.format, OutputFormat::Mp3(_)) {
            break (bytes, delivered);
        }
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
    };
    meters.limiter = fit.limiter_meters.limiter;
    meters.latency_frames += fit.limiter_meters.latency_frames;
    Ok(Rendered {
        bytes,
        delivered,
        loudness_loop: fit.report,
        meters,
        encode_attempts: attempts,
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

/// What a decoder returns for `bytes`. Integer PCM formats are reproduced
/// exactly from the same quantiser the encoder used (same fixed-seed
/// dither), float WAV is the buffer itself, MP3 is decoded for real.
fn delivered_samples(
    master: &AudioBuffer,
    bytes: &[u8],
    format: OutputFormat,
    label: &Path,
) -> Result<AudioBuffer, EngineError> {
    if let Some(bits) = format.bits_per_sample() {
        let scale = full_scale(bits);
        let channels = quantize(master.channels(), bits, Dither::Auto)
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|v| (f64::from(v) / scale) as f32)
                    .collect()
            })
            .collect();
        return AudioBuffer::new(master.sample_rate(), channels).map_err(|e| {
            EngineError::Convert {
                path: label.to_path_buf(),
                step: "re-reading the quantised master",
                source: lacquer_io::IoError::Encode {
                    format: format.to_string(),
                    detail: e.to_string(),
                },
            }
        });
    }
    match format {
        OutputFormat::Mp3(_) => decode_bytes(bytes, format, label),
        _ => Ok(master.clone()),
    }
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
