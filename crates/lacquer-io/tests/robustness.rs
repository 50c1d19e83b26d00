//! Hostile and damaged inputs: decode must return, never panic.
//!
//! Where the damage is detectable by the format (a header cut short, a
//! FLAC frame failing its CRC, a lossless file shorter than its header
//! says) the result must be an error. Damage a format cannot detect (a
//! flipped bit inside raw PCM, say) may legitimately decode; then the
//! result must still be a valid, finite, stereo buffer.

mod common;

use common::*;
use lacquer_core::AudioBuffer;
use lacquer_io::{
    DecodeOptions, Decoded, FlacDepth, IoError, Mp3Mode, OutputFormat, WavEncoding, decode_file,
    encode_to_vec,
};
use lacquer_testkit::{Rng, pink_noise};

/// Mutated copies tried per fixture and kind of damage.
const MUTATIONS_PER_FILE: usize = 40;

fn fixture_audio() -> AudioBuffer {
    let mut rng = Rng::new(21);
    let l = pink_noise(&mut rng, 44_100, 1.5, -18.0);
    let r = pink_noise(&mut rng, 44_100, 1.5, -18.0);
    AudioBuffer::stereo(44_100, l, r).unwrap()
}

fn fixtures() -> Vec<(OutputFormat, Vec<u8>)> {
    let audio = fixture_audio();
    [
        OutputFormat::Wav(WavEncoding::Pcm16),
        OutputFormat::Wav(WavEncoding::Float32),
        OutputFormat::Flac(FlacDepth::Bits16),
        OutputFormat::Mp3(Mp3Mode::Cbr320),
    ]
    .into_iter()
    .map(|f| (f, encode_to_vec(&audio, f).unwrap()))
    .collect()
}

fn decode_bytes(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Result<Decoded, IoError> {
    let p = path_in(dir, name);
    std::fs::write(&p, bytes).unwrap();
    decode_file(&p, &DecodeOptions::default())
}

fn assert_sane(result: &Result<Decoded, IoError>, what: &str) {
    if let Ok(d) = result {
        assert_eq!(d.buffer.num_channels(), 2, "{what}");
        assert!(
            d.buffer.channels().iter().flatten().all(|s| s.is_finite()),
            "{what}: non-finite output accepted"
        );
        assert!(d.buffer.duration_seconds() >= 1.0, "{what}");
    }
}

#[test]
fn truncated_files_never_panic_and_lossless_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (format, bytes) in fixtures() {
        let ext = format.extension();
        let mut rng = Rng::new(99);
        let mut cuts: Vec<usize> = (0..64.min(bytes.len())).collect();
        cuts.extend((0..MUTATIONS_PER_FILE).map(|_| rng.range(64, bytes.len() - 1)));
        for cut in cuts {
            let result = decode_bytes(&dir, &format!("cut.{ext}"), &bytes[..cut]);
            let what = format!("{format} cut at {cut} of {}", bytes.len());
            assert_sane(&result, &what);
            let lossless = !matches!(format, OutputFormat::Mp3(_));
            if lossless {
                assert!(result.is_err(), "{what}: truncated lossless file accepted");
            }
        }
    }
}

#[test]
fn random_bytes_behind_valid_headers_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(7);
    for (format, bytes) in fixtures() {
        let ext = format.extension();
        // Keep the container's header, replace everything after it.
        let header_len = match format {
            OutputFormat::Wav(_) => 44.min(bytes.len()),
            OutputFormat::Flac(_) => 42,
            OutputFormat::Mp3(_) => 1044, // the LAME/Info frame at 320 kbit/s
        };
        for _ in 0..MUTATIONS_PER_FILE / 4 {
            let mut v = bytes[..header_len].to_vec();
            let extra = rng.range(0, 300_000);
            v.extend((0..extra).map(|_| rng.next_u64() as u8));
            let result = decode_bytes(&dir, &format!("rand.{ext}"), &v);
            let what = format!("{format} header + {extra} random bytes");
            assert_sane(&result, &what);
            if !matches!(format, OutputFormat::Wav(_)) {
                // Only raw PCM gives meaning to arbitrary bytes.
                assert!(result.is_err(), "{what}: accepted");
            }
        }
    }
}

#[test]
fn bit_flips_never_panic_and_flac_detects_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(1234);
    for (format, bytes) in fixtures() {
        let ext = format.extension();
        for round in 0..MUTATIONS_PER_FILE {
            let mut v = bytes.clone();
            let flips = 1 + rng.range(0, 7);
            // FLAC frames start after fLaC + STREAMINFO (42 bytes) + padding;
            // flip only inside audio frames there so the CRC must catch it.
            let start = if matches!(format, OutputFormat::Flac(_)) {
                8192.min(v.len() / 2)
            } else {
                0
            };
            for _ in 0..flips {
                let at = rng.range(start, v.len() - 1);
                v[at] ^= 1 << rng.range(0, 7);
            }
            let result = decode_bytes(&dir, &format!("flip.{ext}"), &v);
            let what = format!("{format} round {round}, {flips} flipped bits");
            assert_sane(&result, &what);
            if matches!(format, OutputFormat::Flac(_)) {
                assert!(result.is_err(), "{what}: corrupt FLAC accepted");
            }
        }
    }
}

#[test]
fn pure_noise_files_are_rejected_under_any_extension() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(5);
    for ext in ["wav", "flac", "mp3", "ogg", "m4a", "aiff", "bin"] {
        for _ in 0..5 {
            let n = rng.range(1, 200_000);
            let v: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            let result = decode_bytes(&dir, &format!("noise.{ext}"), &v);
            assert!(result.is_err(), "{n} random bytes as .{ext} accepted");
        }
    }
}
