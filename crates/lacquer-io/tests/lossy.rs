//! Lossy formats our own encoders cannot make (Vorbis, AAC, Opus), read from
//! small committed fixtures (`tests/fixtures/make-lossy-fixtures.sh` made them
//! from a generated 1 kHz sine: 2.0 s, 44.1 kHz stereo, peak −12 dBFS).

use lacquer_io::{DecodeOptions, IoError, decode_file};
use std::path::PathBuf;

const SOURCE_FRAMES: usize = 88_200;
/// RMS of the source sine: −12 dBFS peak − 3.01 dB.
const SOURCE_RMS_DBFS: f64 = -15.05;
/// Lossy codecs at these bitrates keep a pure tone's level this close.
const LEVEL_TOL_DB: f64 = 0.2;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn rms_dbfs(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

#[test]
fn ogg_vorbis_decodes_with_exact_length_and_level() {
    let d = decode_file(&fixture("sine-1k.ogg"), &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.codec, "vorbis");
    assert_eq!(d.source.sample_rate, 44_100);
    assert_eq!(d.buffer.len(), SOURCE_FRAMES);
    for ch in 0..2 {
        let level = rms_dbfs(d.buffer.channel(ch));
        assert!(
            (level - SOURCE_RMS_DBFS).abs() < LEVEL_TOL_DB,
            "ch {ch}: {level}"
        );
    }
}

#[test]
fn aac_in_m4a_drops_priming_and_padding() {
    let d = decode_file(&fixture("sine-1k.m4a"), &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.codec, "aac");
    assert_eq!(d.buffer.len(), SOURCE_FRAMES, "priming and padding trimmed");
    let left = d.buffer.channel(0);
    assert!((rms_dbfs(left) - SOURCE_RMS_DBFS).abs() < LEVEL_TOL_DB);
    // Had the 1024 priming frames been kept, the first 20 ms would be
    // near-silent encoder warm-up instead of the tone at full level.
    let head = rms_dbfs(&left[..882]);
    assert!((head - SOURCE_RMS_DBFS).abs() < 1.0, "head at {head} dBFS");
    // …and the tone must start in phase with the source: sin(0) = 0 and
    // rising, so the sample a quarter period in is near the positive peak.
    let quarter = 44_100 / 4_000;
    assert!(left[quarter] > 0.2, "sample {quarter} = {}", left[quarter]);
}

#[test]
fn opus_is_refused_with_advice() {
    let err = decode_file(&fixture("sine-1k.opus"), &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, IoError::UnsupportedCodec { .. }), "{err:?}");
    assert!(err.is_invalid_input());
    let message = err.to_string();
    assert!(
        message.contains("sine-1k.opus") && message.contains("Opus"),
        "{message}"
    );
}
