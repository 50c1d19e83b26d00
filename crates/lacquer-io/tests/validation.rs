//! Each class of bad input gets its own error variant, naming the file.

mod common;

use common::*;
use lacquer_io::{DecodeOptions, IoError, decode_file};
use lacquer_testkit::sine;

/// Where the NaN is placed and how precisely its time must be reported.
const NAN_TIME_TOL_S: f64 = 1e-9;

fn stereo_pcm16(rate: u32, seconds: f64) -> Vec<i32> {
    let x = sine(rate, seconds, 440.0, -6.0, 0.0);
    x.iter()
        .flat_map(|&s| {
            let v = (f64::from(s) * 32767.0).round() as i32;
            [v, v]
        })
        .collect()
}

fn decode_err(path: &std::path::Path, opts: &DecodeOptions) -> IoError {
    let err = match decode_file(path, opts) {
        Ok(d) => panic!("expected an error, decoded {:?}", d.source),
        Err(e) => e,
    };
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "message must name the file: {err}"
    );
    assert!(
        err.is_invalid_input(),
        "{err} should count as invalid input"
    );
    err
}

#[test]
fn missing_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = decode_err(&path_in(&dir, "nope.wav"), &DecodeOptions::default());
    assert!(matches!(err, IoError::NotFound { .. }), "{err:?}");
}

#[test]
fn directory_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let sub = path_in(&dir, "folder.wav");
    std::fs::create_dir(&sub).unwrap();
    let err = decode_err(&sub, &DecodeOptions::default());
    assert!(matches!(err, IoError::Unreadable { .. }), "{err:?}");
}

#[test]
fn zero_bytes_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "empty.wav");
    std::fs::write(&p, b"").unwrap();
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(matches!(err, IoError::Empty { .. }), "{err:?}");
}

#[test]
fn header_without_frames_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "noframes.wav");
    std::fs::write(&p, raw_wav(1, 2, 44_100, 16, &[])).unwrap();
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(matches!(err, IoError::Empty { .. }), "{err:?}");
}

#[test]
fn text_file_is_unsupported_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "notes.wav");
    std::fs::write(&p, "this is not audio\n".repeat(500)).unwrap();
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(matches!(err, IoError::UnsupportedFormat { .. }), "{err:?}");
}

#[test]
fn unknown_codec_in_wav_is_unsupported_codec() {
    // WAVE_FORMAT_ADPCM (2) is a real codec we do not build a decoder for.
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "adpcm.wav");
    let mut fmt_ext = Vec::new();
    // cbSize, samples per block, coefficient count + the 7 standard pairs
    fmt_ext.extend_from_slice(&32u16.to_le_bytes());
    fmt_ext.extend_from_slice(&1012u16.to_le_bytes());
    fmt_ext.extend_from_slice(&7u16.to_le_bytes());
    for (a, b) in [
        (256i16, 0i16),
        (512, -256),
        (0, 0),
        (192, 64),
        (240, 0),
        (460, -208),
        (392, -232),
    ] {
        fmt_ext.extend_from_slice(&a.to_le_bytes());
        fmt_ext.extend_from_slice(&b.to_le_bytes());
    }
    let data = vec![0u8; 1024 * 60];
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&((4 + 8 + 16 + fmt_ext.len() + 8 + data.len()) as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&((16 + fmt_ext.len()) as u32).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes()); // ADPCM
    v.extend_from_slice(&2u16.to_le_bytes()); // channels
    v.extend_from_slice(&44_100u32.to_le_bytes());
    v.extend_from_slice(&44_359u32.to_le_bytes()); // bytes/s
    v.extend_from_slice(&1024u16.to_le_bytes()); // block align
    v.extend_from_slice(&4u16.to_le_bytes()); // bits
    v.extend_from_slice(&fmt_ext);
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    std::fs::write(&p, v).unwrap();
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(
        matches!(
            err,
            IoError::UnsupportedCodec { .. } | IoError::UnsupportedFormat { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn half_second_is_too_short() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "short.wav");
    write_int_wav(&p, 2, 44_100, 16, &stereo_pcm16(44_100, 0.5));
    let err = decode_err(&p, &DecodeOptions::default());
    match err {
        IoError::TooShort {
            duration_seconds,
            min_seconds,
            ..
        } => {
            assert!((duration_seconds - 0.5).abs() < 1e-9);
            assert_eq!(min_seconds, 1.0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn over_the_configured_limit_is_too_long() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "long.wav");
    write_int_wav(&p, 2, 44_100, 16, &stereo_pcm16(44_100, 3.0));
    let opts = DecodeOptions {
        max_duration_seconds: 2.0,
        ..DecodeOptions::default()
    };
    let err = decode_err(&p, &opts);
    assert!(
        matches!(err, IoError::TooLong { max_seconds, .. } if max_seconds == 2.0),
        "{err:?}"
    );
    // The default limit (30 min) admits it.
    assert!(decode_file(&p, &DecodeOptions::default()).is_ok());
    assert_eq!(DecodeOptions::default().max_duration_seconds, 1800.0);
}

#[test]
fn nan_is_reported_with_channel_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "nan.wav");
    let rate = 48_000;
    let mut interleaved: Vec<f32> = sine(rate, 2.0, 440.0, -6.0, 0.0)
        .iter()
        .flat_map(|&s| [s, s])
        .collect();
    let bad_frame = 12_000; // 0.25 s
    interleaved[2 * bad_frame + 1] = f32::NAN; // right channel
    interleaved[2 * (bad_frame + 5)] = f32::INFINITY; // later, left
    write_float_wav(&p, 2, rate, &interleaved);
    let err = decode_err(&p, &DecodeOptions::default());
    match err {
        IoError::NonFiniteSample {
            channel,
            time_seconds,
            ..
        } => {
            assert_eq!(channel, 1);
            assert!(
                (time_seconds - 0.25).abs() < NAN_TIME_TOL_S,
                "{time_seconds}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn infinity_is_non_finite_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "inf.wav");
    let mut mono = sine(44_100, 1.5, 440.0, -6.0, 0.0);
    mono[44_100] = f32::NEG_INFINITY;
    write_float_wav(&p, 1, 44_100, &mono);
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(
        matches!(err, IoError::NonFiniteSample { channel: 0, time_seconds, .. } if (time_seconds - 1.0).abs() < NAN_TIME_TOL_S),
        "{err:?}"
    );
}

#[test]
fn three_channels_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "three.wav");
    let frames = stereo_pcm16(44_100, 1.5);
    let three: Vec<i32> = frames.chunks(2).flat_map(|f| [f[0], f[1], f[0]]).collect();
    write_int_wav(&p, 3, 44_100, 16, &three);
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(
        matches!(err, IoError::TooManyChannels { channels: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn sample_rates_outside_8k_384k_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [4_000u32, 7_999, 384_001, 768_000] {
        let p = path_in(&dir, &format!("rate{rate}.wav"));
        write_int_wav(&p, 2, rate, 16, &stereo_pcm16(rate, 1.5));
        let err = decode_err(&p, &DecodeOptions::default());
        assert!(
            matches!(err, IoError::SampleRateOutOfRange { sample_rate_hz, .. } if sample_rate_hz == rate),
            "{rate}: {err:?}"
        );
    }
    for rate in [8_000u32, 384_000] {
        let p = path_in(&dir, &format!("ok{rate}.wav"));
        write_int_wav(&p, 2, rate, 16, &stereo_pcm16(rate, 1.5));
        let d = decode_file(&p, &DecodeOptions::default()).unwrap();
        assert_eq!(d.buffer.sample_rate(), rate);
    }
}

#[test]
fn sixty_four_bit_float_is_outside_bit_depth_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "f64.wav");
    let data: Vec<u8> = sine(44_100, 1.5, 440.0, -6.0, 0.0)
        .iter()
        .flat_map(|&s| {
            let b = f64::from(s).to_le_bytes();
            [b, b].concat()
        })
        .collect();
    std::fs::write(&p, raw_wav(3, 2, 44_100, 64, &data)).unwrap();
    let err = decode_err(&p, &DecodeOptions::default());
    assert!(
        matches!(err, IoError::BitDepthOutOfRange { bits: 64, .. }),
        "{err:?}"
    );
}

#[test]
fn environment_errors_are_not_input_errors() {
    let err = IoError::OutputExists {
        path: "x.wav".into(),
    };
    assert!(!err.is_invalid_input());
}

#[test]
fn unbounded_limits_are_accepted_without_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "ok.wav");
    write_int_wav(&p, 2, 44_100, 16, &stereo_pcm16(44_100, 1.5));
    let opts = DecodeOptions {
        max_duration_seconds: f64::INFINITY,
        min_duration_seconds: 0.0,
    };
    let d = decode_file(&p, &opts).unwrap();
    assert_eq!(d.source.frames, 66_150);
}
