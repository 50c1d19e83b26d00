//! Encode → decode round trips for every output format.

mod common;

use common::*;
use lacquer_io::{
    DecodeOptions, FlacDepth, Mp3Mode, OutputFormat, Overwrite, WavEncoding, decode_file,
    encode_to_vec, write_file,
};
use lacquer_testkit::{Rng, pink_noise};

/// Integrated loudness may move this much through a 320 kbit/s MP3.
const MP3_LOUDNESS_TOL_LU: f64 = 0.3;
// Decoded MP3 length must equal the input length exactly (tolerance 0
// frames): the LAME tag carries encoder delay and padding and symphonia
// trims both.

fn lossless_round_trip(format: OutputFormat, bits: u32) {
    let dir = tempfile::tempdir().unwrap();
    let original = on_grid_noise(44_100, 2.5, bits, 7);
    let path = path_in(&dir, &format!("rt.{}", format.extension()));
    write_file(&original, &path, format, Overwrite::Refuse).unwrap();
    let decoded = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.buffer.sample_rate(), 44_100);
    assert_eq!(decoded.source.bits_per_sample, Some(bits));
    assert_eq!(decoded.source.channels, 2);
    assert_eq!(decoded.buffer.len(), original.len(), "{format}: length");
    for ch in 0..2 {
        let mismatch = original
            .channel(ch)
            .iter()
            .zip(decoded.buffer.channel(ch))
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(
            mismatch, None,
            "{format}: first differing frame, channel {ch}"
        );
    }
}

#[test]
fn wav16_is_bit_exact() {
    lossless_round_trip(OutputFormat::Wav(WavEncoding::Pcm16), 16);
}

#[test]
fn wav24_is_bit_exact() {
    lossless_round_trip(OutputFormat::Wav(WavEncoding::Pcm24), 24);
}

#[test]
fn flac16_is_bit_exact() {
    lossless_round_trip(OutputFormat::Flac(FlacDepth::Bits16), 16);
}

#[test]
fn flac24_is_bit_exact() {
    lossless_round_trip(OutputFormat::Flac(FlacDepth::Bits24), 24);
}

#[test]
fn float_wav_is_bit_exact_for_any_f32() {
    // Off-grid values, including ones above full scale: float WAV keeps them.
    let mut rng = Rng::new(3);
    let l: Vec<f32> = (0..48_000).map(|_| (rng.bipolar() * 1.5) as f32).collect();
    let r: Vec<f32> = (0..48_000).map(|_| (rng.bipolar() * 1e-7) as f32).collect();
    let original = lacquer_core::AudioBuffer::stereo(48_000, l, r).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = path_in(&dir, "f.wav");
    write_file(
        &original,
        &path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
    let decoded = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.buffer, original);
}

#[test]
fn dithered_encodes_are_bit_identical_run_to_run() {
    let mut rng = Rng::new(11);
    let l = pink_noise(&mut rng, 44_100, 1.5, -20.0);
    let r = pink_noise(&mut rng, 44_100, 1.5, -20.0);
    let buffer = lacquer_core::AudioBuffer::stereo(44_100, l, r).unwrap();
    for format in OutputFormat::ALL {
        let a = encode_to_vec(&buffer, format).unwrap();
        let b = encode_to_vec(&buffer, format).unwrap();
        assert_eq!(a, b, "{format} differs between runs");
    }
}

fn mp3_round_trip(mode: Mp3Mode) -> (f64, f64, usize, usize) {
    let mut rng = Rng::new(5);
    let l = pink_noise(&mut rng, 44_100, 6.0, -20.0);
    let r = pink_noise(&mut rng, 44_100, 6.0, -20.0);
    let original = lacquer_core::AudioBuffer::stereo(44_100, l, r).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = path_in(&dir, "rt.mp3");
    write_file(&original, &path, OutputFormat::Mp3(mode), Overwrite::Refuse).unwrap();
    let decoded = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.source.codec, "mp3");
    (
        integrated_lufs(&original),
        integrated_lufs(&decoded.buffer),
        original.len(),
        decoded.buffer.len(),
    )
}

#[test]
fn mp3_320_keeps_loudness_and_length() {
    let (before, after, len_in, len_out) = mp3_round_trip(Mp3Mode::Cbr320);
    println!("mp3 320: {before:.3} -> {after:.3} LUFS, {len_in} -> {len_out} frames");
    assert!(
        (after - before).abs() <= MP3_LOUDNESS_TOL_LU,
        "loudness {before:.3} -> {after:.3} LUFS"
    );
    assert_eq!(len_out, len_in, "decoded MP3 length in frames");
}

#[test]
fn mp3_v0_keeps_loudness_and_length() {
    let (before, after, len_in, len_out) = mp3_round_trip(Mp3Mode::V0);
    println!("mp3 V0: {before:.3} -> {after:.3} LUFS, {len_in} -> {len_out} frames");
    assert!(
        (after - before).abs() <= MP3_LOUDNESS_TOL_LU,
        "loudness {before:.3} -> {after:.3} LUFS"
    );
    assert_eq!(len_out, len_in, "decoded MP3 length in frames");
}

#[test]
fn format_names_parse_and_print_consistently() {
    for format in OutputFormat::ALL {
        let text = format.to_string();
        assert_eq!(text.parse::<OutputFormat>().unwrap(), format);
    }
    assert!("ogg".parse::<OutputFormat>().is_err());
    assert_eq!(
        serde_json::to_string(&OutputFormat::Flac(FlacDepth::Bits24)).unwrap(),
        "\"flac24\""
    );
}

#[test]
fn wav_files_read_back_identically_with_an_independent_reader() {
    // hound is a second, stricter WAV parser: our headers must satisfy it.
    let original = on_grid_noise(48_000, 1.1, 16, 4);
    for (encoding, bits) in [
        (WavEncoding::Pcm16, 16u16),
        (WavEncoding::Pcm24, 24),
        (WavEncoding::Float32, 32),
    ] {
        let bytes = encode_to_vec(&original, OutputFormat::Wav(encoding)).unwrap();
        let mut reader = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 48_000, bits)
        );
        let scale = f64::from(1u32 << (bits - 1));
        let decoded: Vec<f32> = if encoding == WavEncoding::Float32 {
            reader.samples::<f32>().map(Result::unwrap).collect()
        } else {
            reader
                .samples::<i32>()
                .map(|s| (f64::from(s.unwrap()) / scale) as f32)
                .collect()
        };
        assert_eq!(decoded.len(), 2 * original.len());
        for (i, frame) in decoded.chunks(2).enumerate() {
            assert_eq!(frame[0], original.channel(0)[i], "{encoding:?} frame {i}");
            assert_eq!(frame[1], original.channel(1)[i], "{encoding:?} frame {i}");
        }
    }
}
