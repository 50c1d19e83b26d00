//! Input variety: word lengths, containers, rates and channel layouts.

mod common;

use common::*;
use lacquer_io::{
    DecodeOptions, IoError, Mp3Mode, OutputFormat, Overwrite, WavEncoding, decode_file, write_file,
};
use lacquer_testkit::sine;

/// A 16-bit sample decoded to f32 must be exactly k / 32768.
const PCM16_SCALE: f32 = 32_768.0;

fn ramp_i32(frames: usize, bits: u32) -> Vec<i32> {
    let max = (1i64 << (bits - 1)) - 1;
    (0..frames)
        .map(|i| ((i as i64 * 7919) % (2 * max) - max) as i32)
        .collect()
}

#[test]
fn mono_is_upmixed_to_identical_channels() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "mono.wav");
    let x = sine(44_100, 1.2, 1000.0, -3.0, 0.0);
    let ints: Vec<i32> = x.iter().map(|&s| (s * 32767.0).round() as i32).collect();
    write_int_wav(&p, 1, 44_100, 16, &ints);
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.channels, 1);
    assert_eq!(d.buffer.num_channels(), 2);
    assert_eq!(d.buffer.channel(0), d.buffer.channel(1));
    for (i, &v) in ints.iter().enumerate() {
        assert_eq!(d.buffer.channel(0)[i] * PCM16_SCALE, v as f32, "frame {i}");
    }
}

#[test]
fn eight_bit_wav_decodes_to_its_levels() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "u8.wav");
    let frames = 44_100 + 100;
    let ints: Vec<i32> = (0..frames).map(|i| (i % 256) as i32 - 128).collect();
    let interleaved: Vec<i32> = ints.iter().flat_map(|&v| [v, -v.max(-127)]).collect();
    write_int_wav(&p, 2, 44_100, 8, &interleaved);
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.bits_per_sample, Some(8));
    assert_eq!(d.buffer.len(), frames);
    for (i, &v) in ints.iter().enumerate() {
        assert_eq!(d.buffer.channel(0)[i], v as f32 / 128.0, "frame {i}");
    }
}

#[test]
fn thirty_two_bit_int_wav_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "s32.wav");
    let left = ramp_i32(48_000 * 3 / 2, 32);
    let interleaved: Vec<i32> = left.iter().flat_map(|&v| [v, v / 2]).collect();
    write_int_wav(&p, 2, 48_000, 32, &interleaved);
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.bits_per_sample, Some(32));
    // f32 keeps 24 significant bits; compare at that precision.
    const S32_TOL: f64 = 1.0 / (1u64 << 23) as f64;
    for (i, &v) in left.iter().enumerate() {
        let expected = f64::from(v) / 2_147_483_648.0;
        let got = f64::from(d.buffer.channel(0)[i]);
        assert!(
            (got - expected).abs() <= S32_TOL * expected.abs().max(1e-3),
            "frame {i}"
        );
    }
}

#[test]
fn aiff_decodes_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "tone.aiff");
    let x = sine(44_100, 1.5, 440.0, -6.0, 0.0);
    let ints: Vec<i16> = x.iter().map(|&s| (s * 32767.0).round() as i16).collect();
    let interleaved: Vec<i16> = ints.iter().flat_map(|&v| [v, v.saturating_neg()]).collect();
    std::fs::write(&p, aiff_16(2, 44_100, &interleaved)).unwrap();
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.container, "aiff");
    assert_eq!(d.buffer.sample_rate(), 44_100);
    assert_eq!(d.buffer.len(), ints.len());
    for (i, &v) in ints.iter().enumerate() {
        assert_eq!(
            d.buffer.channel(0)[i] * PCM16_SCALE,
            f32::from(v),
            "frame {i}"
        );
        assert_eq!(
            d.buffer.channel(1)[i] * PCM16_SCALE,
            f32::from(v.saturating_neg())
        );
    }
}

#[test]
fn ninety_six_khz_24_bit_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "hi.wav");
    let original = on_grid_noise(96_000, 1.25, 24, 9);
    write_file(
        &original,
        &p,
        OutputFormat::Wav(WavEncoding::Pcm24),
        Overwrite::Refuse,
    )
    .unwrap();
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.sample_rate, 96_000);
    assert_eq!(d.buffer.sample_rate(), 96_000);
    assert_eq!(d.source.frames, 120_000);
    assert!((d.source.duration_seconds - 1.25).abs() < 1e-12);
    assert_eq!(d.buffer, original);
}

#[test]
fn three_channel_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "lcr.wav");
    let interleaved: Vec<i32> = (0..44_100 * 3 * 2).map(|i: i32| i % 1000).collect();
    write_int_wav(&p, 3, 44_100, 16, &interleaved);
    match decode_file(&p, &DecodeOptions::default()) {
        Err(IoError::TooManyChannels { channels, .. }) => assert_eq!(channels, 3),
        other => panic!("{:?}", other.map(|d| d.source)),
    }
}

#[test]
fn mp3_source_info_is_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "x.mp3");
    let b = lacquer_testkit::stereo_sine(48_000, 1.5, 1000.0, -12.0);
    write_file(&b, &p, OutputFormat::Mp3(Mp3Mode::V0), Overwrite::Refuse).unwrap();
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.codec, "mp3");
    assert_eq!(d.source.bits_per_sample, None);
    assert_eq!(d.buffer.len(), b.len());
}

#[test]
fn float_wav_reports_32_bits() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "f.wav");
    let x = sine(44_100, 1.5, 440.0, -6.0, 0.0);
    write_float_wav(&p, 1, 44_100, &x);
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.source.bits_per_sample, Some(32));
    assert_eq!(d.buffer.channel(1), x.as_slice());
}
