//! End-to-end checks of `lacquer match`: the deltas a user sees, their signs,
//! and clear failures for bad inputs.

use assert_cmd::Command;
use lacquer_core::AudioBuffer;
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::music::demo_mix;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

/// Identical files give identical analyses: deltas are 0 up to rounding.
const TOL_SELF: f64 = 1e-9;
/// A pure gain moves loudness by exactly the gain; f32 rounding remains.
const TOL_GAIN_LU: f64 = 1e-3;
/// Profiles store levels to 0.01 dB, so a source track reads within half
/// of that (plus the last bit) of its own profile.
const TOL_PROFILE_ROUNDING_DB: f64 = 0.005 + 1e-9;

fn lacquer() -> Command {
    Command::cargo_bin("lacquer").expect("the lacquer binary is built")
}

fn write_wav(buffer: &AudioBuffer, path: &Path) {
    write_file(
        buffer,
        path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .expect("temp dir is writable");
}

fn mix_file(dir: &Path, name: &str, gain_db: f64) -> PathBuf {
    let mut mix = demo_mix(44_100, 6.0, -9.0, 4);
    mix.apply_gain(10f64.powf(gain_db / 20.0) as f32);
    let path = dir.join(name);
    write_wav(&mix, &path);
    path
}

fn json_of(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn number(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn a_mix_against_itself_has_zero_deltas() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mix = mix_file(dir.path(), "mix.wav", 0.0);
    let before = std::fs::read(&mix).expect("readable");
    let v = json_of(
        lacquer()
            .args(["match", "--json", "--reference"])
            .arg(&mix)
            .arg(&mix),
    );
    let d = &v["deltas"];
    assert_eq!(d["target"]["kind"], "reference");
    for key in ["loudness_lu", "crest_db", "plr_db", "lra_lu", "width"] {
        assert!(number(&d[key]).abs() <= TOL_SELF, "{key}: {}", d[key]);
    }
    let mids = d["tonal"]["mid_db"].as_array().expect("tonal deltas");
    assert!(mids.len() >= 30);
    assert!(mids.iter().all(|m| number(m).abs() <= TOL_SELF));
    assert_eq!(
        std::fs::read(&mix).expect("readable"),
        before,
        "input untouched"
    );
    let entries = std::fs::read_dir(dir.path()).expect("listable").count();
    assert_eq!(entries, 1, "match writes nothing");
}

#[test]
fn a_louder_mix_reads_minus_six_lu_against_its_original() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = mix_file(dir.path(), "original.wav", 0.0);
    let louder = mix_file(dir.path(), "louder.wav", 6.0);
    let v = json_of(
        lacquer()
            .args(["match", "--json"])
            .arg(&louder)
            .arg("--reference")
            .arg(&original),
    );
    let loudness = number(&v["deltas"]["loudness_lu"]);
    assert!((loudness + 6.0).abs() <= TOL_GAIN_LU, "got {loudness}");
}

#[test]
fn the_table_shows_signs_bands_and_the_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mix = mix_file(dir.path(), "mix.wav", 0.0);
    lacquer()
        .arg("match")
        .arg(&mix)
        .args(["--genre", "electronic"])
        .env("LACQUER_PROFILES_DIR", dir.path().join("none"))
        .assert()
        .success()
        .stdout(predicate::str::contains("profile electronic (built-in"))
        .stdout(predicate::str::contains("target − mix"))
        .stdout(predicate::str::contains("presence"))
        .stdout(predicate::str::contains("3150"));
}

#[test]
fn genre_deltas_name_the_profile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mix = mix_file(dir.path(), "mix.wav", 0.0);
    let v = json_of(
        lacquer()
            .args(["match", "--json", "--genre", "metal_rock"])
            .arg(&mix),
    );
    let target = &v["deltas"]["target"];
    assert_eq!(target["kind"], "profile");
    assert_eq!(target["names"][0], "metal_rock");
    assert!(
        v["deltas"]["loudness_lu"].is_null(),
        "a genre sets no level"
    );
    assert!(number(&v["deltas"]["tonal"]["mean_abs_db"]) > 0.0);
}

#[test]
fn a_user_profile_is_usable_with_genre() {
    let refs = tempfile::tempdir().expect("temp dir");
    let profiles = tempfile::tempdir().expect("temp dir");
    mix_file(refs.path(), "a.wav", 0.0);
    mix_file(refs.path(), "b.wav", -4.0);
    lacquer()
        .args(["profile", "build", "--name", "my_pop", "--from"])
        .arg(refs.path())
        .arg("--out")
        .arg(profiles.path())
        .assert()
        .success();
    let mix = mix_file(refs.path(), "mix.flac.wav", 0.0);
    let v = json_of(
        lacquer()
            .args(["match", "--json", "--genre", "my_pop", "--profiles-dir"])
            .arg(profiles.path())
            .arg(&mix),
    );
    assert_eq!(v["deltas"]["target"]["names"][0], "my_pop");
    // The mix is one of the profile's two sources (same material at other
    // gains), so its normalised curve sits on the profile's.
    let mean_abs = number(&v["deltas"]["tonal"]["mean_abs_db"]);
    assert!(
        mean_abs <= TOL_PROFILE_ROUNDING_DB,
        "mean |delta| {mean_abs}"
    );
}

#[test]
fn unknown_genre_and_bad_files_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mix = mix_file(dir.path(), "mix.wav", 0.0);
    lacquer()
        .arg("match")
        .arg(&mix)
        .args(["--genre", "polka"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("polka"))
        .stderr(predicate::str::contains("electronic"));
    let missing = dir.path().join("missing.wav");
    lacquer()
        .arg("match")
        .arg(&missing)
        .args(["--genre", "ambient"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.wav"));
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"not audio at all").expect("writable");
    lacquer()
        .arg("match")
        .arg(&mix)
        .arg("--reference")
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("junk.wav"));
    // Exactly one of --reference / --genre.
    lacquer().arg("match").arg(&mix).assert().code(2);
    lacquer()
        .arg("match")
        .arg(&mix)
        .args(["--genre", "ambient", "--reference"])
        .arg(&mix)
        .assert()
        .code(2);
}

#[test]
fn files_longer_than_half_an_hour_are_matched() {
    // 31 minutes of a 1 kHz tone, mono 16-bit 8 kHz (30 MB): past the
    // 30-minute limit a whole-file decode kept. Against a 10 s excerpt of
    // the same tone at half the amplitude, the loudness delta is exactly
    // the level ratio, −6.02 LU (16-bit rounding of both files: 1e-3 LU).
    const RATE: u32 = 8_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let write_tone = |name: &str, seconds: f64, peak_dbfs: f64| {
        let tone = lacquer_testkit::sine(RATE, seconds, 1_000.0, peak_dbfs, 0.0);
        let path = dir.path().join(name);
        write_file(
            &AudioBuffer::new(RATE, vec![tone]).unwrap(),
            &path,
            OutputFormat::Wav(WavEncoding::Pcm16),
            Overwrite::Refuse,
        )
        .expect("temp dir is writable");
        path
    };
    let long = write_tone("long.wav", 31.0 * 60.0, -20.0);
    let quieter = write_tone("quieter.wav", 10.0, -20.0 - 20.0 * 2f64.log10());
    let v = json_of(
        lacquer()
            .args(["match", "--json"])
            .arg(&long)
            .arg("--reference")
            .arg(&quieter),
    );
    let loudness = number(&v["deltas"]["loudness_lu"]);
    let want = -20.0 * 2f64.log10();
    assert!((loudness - want).abs() <= TOL_GAIN_LU, "got {loudness}");
    // The limit still holds when asked for.
    lacquer()
        .args(["match", "--max-duration", "1800"])
        .arg(&long)
        .arg("--reference")
        .arg(&quieter)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("long.wav"));
}
