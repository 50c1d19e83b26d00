//! End-to-end checks of `lacquer profile`: building from a manifest and from
//! a folder (deterministic, never clobbering), listing and showing.

use assert_cmd::Command;
use lacquer_core::AudioBuffer;
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::music::{demo_mix, kick_loop};
use predicates::prelude::*;
use std::path::Path;

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

const HEADER: &str = "clip_id,package,version,path,start_s,duration_s,sha256,genre,licence,source_track_id,split,evidence,kind\n";

/// A two-genre manifest of local clips, with the clips in `cache/clips/`.
fn small_corpus(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cache = root.join("cache");
    std::fs::create_dir_all(cache.join("clips")).expect("writable");
    let mut csv = String::from(HEADER);
    let rows = [
        ("dance-a-c0", "dance", "dance/a", 1u64, "real"),
        ("dance-a-c1", "dance", "dance/a", 2, "real"),
        ("dance-b-c0", "dance", "dance/b", 3, "real"),
        ("drums-a-c0", "drums", "drums/a", 0, "real"),
        ("drums-x-c0", "drums", "drums/x", 9, "synthetic"),
    ];
    for (id, genre, track, seed, kind) in rows {
        let audio = if genre == "drums" {
            kick_loop(44_100, 3.0, -6.0 - seed as f64)
        } else {
            demo_mix(44_100, 3.0, -3.0 - seed as f64, seed)
        };
        write_wav(&audio, &cache.join("clips").join(format!("{id}.wav")));
        csv.push_str(&format!(
            "{id},,,/music/{track}.wav,0.0,3.0,,{genre},CC0,{track},train,\"generated, for tests\",{kind}\n"
        ));
    }
    let manifest = root.join("clips.csv");
    std::fs::write(&manifest, csv).expect("writable");
    (manifest, cache)
}

#[test]
fn manifest_build_is_deterministic_and_refuses_to_overwrite() {
    let root = tempfile::tempdir().expect("temp dir");
    let (manifest, cache) = small_corpus(root.path());
    let out = root.path().join("profiles");
    let build = |out: &Path, force: bool| {
        let mut cmd = lacquer();
        cmd.args(["profile", "build", "--manifest"])
            .arg(&manifest)
            .arg("--cache")
            .arg(&cache)
            .arg("--out")
            .arg(out);
        if force {
            cmd.arg("--force");
        }
        cmd
    };
    build(&out, false)
        .assert()
        .success()
        .stdout(predicate::str::contains("dance.toml"));
    let names: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(&out)
            .expect("listable")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names, ["dance.toml", "drums.toml"]);
    let dance = std::fs::read_to_string(out.join("dance.toml")).expect("written");
    assert!(dance.starts_with("# Lacquer genre profile `dance`"));
    assert!(dance.contains("tracks = 2"), "two source tracks");
    assert!(dance.contains("clips = 3"));
    let drums = std::fs::read_to_string(out.join("drums.toml")).expect("written");
    assert!(drums.contains("clips = 1"), "synthetic rows are left out");

    // Existing files are kept without --force, byte for byte.
    build(&out, false)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(out.join("dance.toml")).expect("kept"),
        dance
    );

    // Same inputs, same bytes.
    let again = root.path().join("again");
    build(&again, false).assert().success();
    for name in &names {
        assert_eq!(
            std::fs::read(out.join(name)).expect("first"),
            std::fs::read(again.join(name)).expect("second"),
            "{name} differs between runs"
        );
    }
    build(&out, true).assert().success();
    assert_eq!(
        std::fs::read_to_string(out.join("dance.toml")).expect("rewritten"),
        dance
    );
}

#[test]
fn a_missing_clip_is_named_before_anything_is_written() {
    let root = tempfile::tempdir().expect("temp dir");
    let (manifest, cache) = small_corpus(root.path());
    std::fs::remove_file(cache.join("clips").join("dance-b-c0.wav")).expect("removable");
    let out = root.path().join("profiles");
    lacquer()
        .args(["profile", "build", "--manifest"])
        .arg(&manifest)
        .arg("--cache")
        .arg(&cache)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dance-b-c0"))
        .stderr(predicate::str::contains("fetch"));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn folder_build_goes_to_the_user_directory_and_is_listed() {
    let root = tempfile::tempdir().expect("temp dir");
    let refs = root.path().join("refs");
    std::fs::create_dir_all(&refs).expect("writable");
    write_wav(&demo_mix(48_000, 3.0, -2.0, 8), &refs.join("one.wav"));
    write_wav(&demo_mix(44_100, 3.0, -5.0, 9), &refs.join("two.wav"));
    let user_dir = root.path().join("user-profiles");
    lacquer()
        .args(["profile", "build", "--name", "hip_hop", "--from"])
        .arg(&refs)
        .env("LACQUER_PROFILES_DIR", &user_dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("--genre hip_hop"));
    let written = user_dir.join("hip_hop.toml");
    let first = std::fs::read(&written).expect("written to the user dir");
    lacquer()
        .args(["profile", "build", "--name", "hip_hop", "--from"])
        .arg(&refs)
        .env("LACQUER_PROFILES_DIR", &user_dir)
        .assert()
        .code(2);
    lacquer()
        .args(["profile", "build", "--force", "--name", "hip_hop", "--from"])
        .arg(&refs)
        .env("LACQUER_PROFILES_DIR", &user_dir)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&written).expect("rewritten"),
        first,
        "deterministic"
    );

    lacquer()
        .args(["profile", "list"])
        .env("LACQUER_PROFILES_DIR", &user_dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("hip_hop"))
        .stdout(predicate::str::contains("orchestral"))
        .stdout(predicate::str::contains("apple_music"));
    lacquer()
        .args(["profile", "show", "hip_hop", "--profiles-dir"])
        .arg(&user_dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("name = \"hip_hop\""));
    lacquer()
        .args(["profile", "build", "--name", "Bad Name", "--from"])
        .arg(&refs)
        .arg("--out")
        .arg(root.path())
        .assert()
        .code(2);
}

#[test]
fn list_json_has_the_builtin_profiles_and_ten_platforms() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = lacquer()
        .args(["profile", "list", "--json"])
        .env("LACQUER_PROFILES_DIR", root.path().join("absent"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "ambient",
            "chiptune_tracker",
            "electronic",
            "metal_rock",
            "orchestral"
        ]
    );
    assert_eq!(v["platforms"].as_array().map(Vec::len), Some(10));
    lacquer()
        .args(["profile", "show", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ambient"));
}
