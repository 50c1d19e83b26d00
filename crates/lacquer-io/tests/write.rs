//! Atomic, non-clobbering writes and the output-is-input guard.

mod common;

use std::path::Path;

use common::*;
use lacquer_core::AudioBuffer;
use lacquer_io::{
    DecodeOptions, FlacDepth, IoError, Mp3Mode, OutputFormat, Overwrite, WavEncoding, decode_file,
    ensure_output_is_not_input, write_file,
};

const OLD_CONTENT: &[u8] = b"previous master, must survive";

fn audio() -> AudioBuffer {
    lacquer_testkit::stereo_sine(48_000, 1.2, 1000.0, -6.0)
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_a_new_file_that_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.flac");
    write_file(
        &audio(),
        &p,
        OutputFormat::Flac(FlacDepth::Bits24),
        Overwrite::Refuse,
    )
    .unwrap();
    assert_eq!(dir_entries(dir.path()), vec!["out.flac"]);
    let d = decode_file(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(d.buffer.len(), audio().len());
}

#[test]
fn refused_overwrite_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.wav");
    std::fs::write(&p, OLD_CONTENT).unwrap();
    let err = write_file(
        &audio(),
        &p,
        OutputFormat::Wav(WavEncoding::Pcm24),
        Overwrite::Refuse,
    )
    .unwrap_err();
    assert!(matches!(err, IoError::OutputExists { .. }), "{err:?}");
    assert!(err.to_string().contains(&p.display().to_string()));
    assert!(!err.is_invalid_input());
    assert_eq!(std::fs::read(&p).unwrap(), OLD_CONTENT);
    assert_eq!(dir_entries(dir.path()), vec!["out.wav"]);
}

#[test]
fn allowed_overwrite_replaces_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.wav");
    std::fs::write(&p, OLD_CONTENT).unwrap();
    write_file(
        &audio(),
        &p,
        OutputFormat::Wav(WavEncoding::Pcm16),
        Overwrite::Allow,
    )
    .unwrap();
    assert_eq!(dir_entries(dir.path()), vec!["out.wav"]);
    assert!(decode_file(&p, &DecodeOptions::default()).is_ok());
}

#[test]
fn encode_errors_leave_no_file_and_keep_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    // NaN in the master.
    let mut bad = audio();
    bad.channel_mut(1)[100] = f32::NAN;
    let p = path_in(&dir, "nan.wav");
    let err = write_file(
        &bad,
        &p,
        OutputFormat::Wav(WavEncoding::Pcm24),
        Overwrite::Refuse,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            IoError::EncodeNonFinite {
                channel: 1,
                frame: 100,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(dir_entries(dir.path()).is_empty());

    // A rate MP3 cannot carry, over an existing file that may be replaced.
    let p = path_in(&dir, "hi.mp3");
    std::fs::write(&p, OLD_CONTENT).unwrap();
    let hi = lacquer_testkit::stereo_sine(96_000, 1.2, 1000.0, -6.0);
    let err = write_file(
        &hi,
        &p,
        OutputFormat::Mp3(Mp3Mode::Cbr320),
        Overwrite::Allow,
    )
    .unwrap_err();
    assert!(matches!(err, IoError::Encode { .. }), "{err:?}");
    assert_eq!(std::fs::read(&p).unwrap(), OLD_CONTENT);
    assert_eq!(dir_entries(dir.path()), vec!["hi.mp3"]);
}

#[test]
fn failed_rename_cleans_up_its_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    // The destination is a non-empty directory: the final rename must fail.
    let p = path_in(&dir, "taken.wav");
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("keep"), b"x").unwrap();
    let err = write_file(
        &audio(),
        &p,
        OutputFormat::Wav(WavEncoding::Pcm16),
        Overwrite::Allow,
    )
    .unwrap_err();
    assert!(matches!(err, IoError::Write { .. }), "{err:?}");
    assert_eq!(dir_entries(dir.path()), vec!["taken.wav"]);
}

#[test]
fn missing_destination_directory_is_a_write_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no/such/dir/out.wav");
    let err = write_file(
        &audio(),
        &p,
        OutputFormat::Wav(WavEncoding::Pcm16),
        Overwrite::Allow,
    )
    .unwrap_err();
    assert!(matches!(err, IoError::Write { .. }), "{err:?}");
    assert!(dir_entries(dir.path()).is_empty());
}

#[test]
fn output_that_is_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = path_in(&dir, "mix.wav");
    std::fs::write(&input, b"data").unwrap();
    std::fs::create_dir(path_in(&dir, "sub")).unwrap();

    let aliases = [
        input.clone(),
        dir.path().join("./mix.wav"),
        dir.path().join("sub/../mix.wav"),
    ];
    for alias in &aliases {
        let err = ensure_output_is_not_input(&input, alias).unwrap_err();
        assert!(matches!(err, IoError::OutputIsInput { .. }), "{alias:?}");
    }
    #[cfg(unix)]
    {
        let link = path_in(&dir, "link.wav");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        assert!(ensure_output_is_not_input(&input, &link).is_err());
    }
    assert!(ensure_output_is_not_input(&input, &path_in(&dir, "master.wav")).is_ok());
    assert!(ensure_output_is_not_input(&input, &dir.path().join("sub/mix.wav")).is_ok());
}

#[test]
fn refusal_is_atomic_at_the_final_step_too() {
    // Bypasses write_file's early check: the link step itself must refuse.
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "race.wav");
    std::fs::write(&p, OLD_CONTENT).unwrap();
    let err = lacquer_io::write_bytes_atomically(b"new bytes", &p, Overwrite::Refuse).unwrap_err();
    assert!(matches!(err, IoError::OutputExists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&p).unwrap(), OLD_CONTENT);
    assert_eq!(dir_entries(dir.path()), vec!["race.wav"]);
}
