//! `lacquer features`: the exported tensors are bit-for-bit what inference
//! computes on the same audio (no train/serve skew), for both kinds of
//! manifest row, and failures leave no file behind.

use anyhow::{Context, Result};
use assert_cmd::Command;
use lacquer_core::AudioBuffer;
use lacquer_genre::features::{FEATURE_PARAMS, FeatureSet, log_mel_patches};
use lacquer_io::{DecodeOptions, OutputFormat, Overwrite, WavEncoding, decode_file, write_file};
use lacquer_testkit::music::{demo_mix, kick_loop};
use predicates::prelude::*;
use std::path::Path;

const HEADER: &str = "clip_id,package,version,path,start_s,duration_s,sha256,genre,licence,\
source_track_id,split,evidence,kind";

fn lacquer() -> Result<Command> {
    Ok(Command::cargo_bin("lacquer")?)
}

fn write_wav(buffer: &AudioBuffer, path: &Path) -> Result<()> {
    write_file(
        buffer,
        path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )?;
    Ok(())
}

/// What inference would compute for `path` cut at `start_s`/`duration_s`.
fn expected_patches(path: &Path, start_s: f64, duration_s: f64) -> Result<Vec<f32>> {
    let decoded = decode_file(path, &DecodeOptions::default())?.buffer;
    let rate = f64::from(decoded.sample_rate());
    let first = (start_s * rate).round() as usize;
    let frames = (duration_s * rate).round() as usize;
    let cut = decoded
        .channels()
        .iter()
        .map(|c| c[first..first + frames].to_vec())
        .collect();
    let clip = AudioBuffer::new(decoded.sample_rate(), cut)?;
    Ok(log_mel_patches(&clip, usize::MAX)?.into_data())
}

fn clip_x<'a>(set: &'a FeatureSet, clip_id: &str) -> Result<&'a [f32]> {
    let clip = set
        .clip_ids
        .iter()
        .position(|c| c == clip_id)
        .context("clip missing")? as i64;
    let first = set
        .clip_index
        .iter()
        .position(|&c| c == clip)
        .context("no patches")?;
    let count = set.clip_index.iter().filter(|&&c| c == clip).count();
    let size = FEATURE_PARAMS.n_mels * FEATURE_PARAMS.patch_frames;
    Ok(&set.x[first * size..(first + count) * size])
}

#[test]
fn local_rows_export_exactly_what_inference_computes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let audio = dir.path().join("audio");
    std::fs::create_dir_all(&audio)?;
    write_wav(&demo_mix(44_100, 25.0, -6.0, 3), &audio.join("song.wav"))?;
    write_wav(&kick_loop(48_000, 14.0, -3.0), &audio.join("loop.wav"))?;
    let manifest = dir.path().join("mine.csv");
    std::fs::write(
        &manifest,
        format!(
            "{HEADER}\n\
             song--c0,,,audio/song.wav,2.5,10.0,,rock,,local/song,train,\"tags, and \"\"quotes\"\"\",real\n\
             song--c1,,,{},14.0,10.0,,rock,,local/song,train,x,real\n\
             loop--c0,,,audio/loop.wav,1.0,10.0,,electronic,,local/loop,test,x,real\n",
            audio.join("song.wav").display()
        ),
    )?;
    let out = dir.path().join("features.npz");
    lacquer()?
        .args(["features", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("9 patches from 3 clips"));

    let set = FeatureSet::from_npz(&std::fs::read(&out)?)?;
    assert_eq!(set.labels, ["electronic", "rock"]);
    assert_eq!(set.clip_ids, ["song--c0", "song--c1", "loop--c0"]);
    assert_eq!(set.y, [1, 1, 1, 1, 1, 1, 0, 0, 0]);
    assert_eq!(set.split[8], "test");
    assert_eq!(set.params, FEATURE_PARAMS);
    // Bit-exact: the exported tensor is the inference-time tensor.
    assert_eq!(
        clip_x(&set, "song--c0")?,
        expected_patches(&audio.join("song.wav"), 2.5, 10.0)?
    );
    assert_eq!(
        clip_x(&set, "song--c1")?,
        expected_patches(&audio.join("song.wav"), 14.0, 10.0)?
    );
    assert_eq!(
        clip_x(&set, "loop--c0")?,
        expected_patches(&audio.join("loop.wav"), 1.0, 10.0)?
    );

    // Same manifest, same bytes.
    let again = dir.path().join("again.npz");
    lacquer()?
        .args(["features", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(&again)
        .assert()
        .success();
    assert_eq!(std::fs::read(&out)?, std::fs::read(&again)?);
    Ok(())
}

#[test]
fn debian_rows_read_the_fetch_cache_and_splits_filter() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("clips"))?;
    write_wav(
        &demo_mix(44_100, 10.0, -6.0, 8),
        &cache.join("clips/pkg--a--c0.wav"),
    )?;
    write_wav(
        &kick_loop(44_100, 10.0, -6.0),
        &cache.join("clips/pkg--b--c0.wav"),
    )?;
    let manifest = dir.path().join("clips.csv");
    std::fs::write(
        &manifest,
        format!(
            "{HEADER}\n\
             pkg--a--c0,pkg,1.0-1,usr/share/a.ogg,30.0,10.0,{h},ambient,GPL-2+,pkg/a,val,x,real\n\
             pkg--b--c0,pkg,1.0-1,usr/share/b.ogg,40.0,10.0,{h},metal_rock,GPL-2+,pkg/b,train,x,real\n",
            h = "0".repeat(64)
        ),
    )?;
    let out = dir.path().join("val.npz");
    lacquer()?
        .args(["features", "--split", "val", "--json", "--manifest"])
        .arg(&manifest)
        .arg("--cache")
        .arg(&cache)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"patches\": 3"));
    let set = FeatureSet::from_npz(&std::fs::read(&out)?)?;
    // Labels come from the whole manifest, so indices do not depend on --split.
    assert_eq!(set.labels, ["ambient", "metal_rock"]);
    assert_eq!(set.clip_ids, ["pkg--a--c0"]);
    assert_eq!(set.clip_source_track_ids, ["pkg/a"]);
    assert_eq!(
        clip_x(&set, "pkg--a--c0")?,
        expected_patches(&cache.join("clips/pkg--a--c0.wav"), 0.0, 10.0)?
    );
    Ok(())
}

#[test]
fn missing_clips_are_listed_with_the_fetch_command_and_nothing_is_written() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = dir.path().join("cache");
    let manifest = dir.path().join("clips.csv");
    std::fs::write(
        &manifest,
        format!(
            "{HEADER}\n\
             pkg--gone--c0,pkg,1.0-1,usr/share/a.ogg,30.0,10.0,,ambient,GPL-2+,pkg/a,val,x,real\n\
             local--gone,,,nowhere/file.wav,0.0,10.0,,ambient,,local/x,train,x,real\n"
        ),
    )?;
    let out = dir.path().join("f.npz");
    lacquer()?
        .args(["features", "--manifest"])
        .arg(&manifest)
        .arg("--cache")
        .arg(&cache)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pkg--gone--c0"))
        .stderr(predicate::str::contains("training-data-manifest/fetch"))
        .stderr(predicate::str::contains("nowhere/file.wav"));
    assert!(!out.exists());
    Ok(())
}

#[test]
fn a_clip_past_the_end_of_its_file_fails_and_existing_output_is_kept() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_wav(
        &demo_mix(44_100, 5.0, -6.0, 1),
        &dir.path().join("short.wav"),
    )?;
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!("{HEADER}\nshort--c0,,,short.wav,0.0,10.0,,ambient,,local/s,train,x,real\n"),
    )?;
    let out = dir.path().join("f.npz");
    lacquer()?
        .args(["features", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("short--c0"))
        .stderr(predicate::str::contains("runs past its end"));
    assert!(!out.exists());

    std::fs::write(&out, b"keep me")?;
    lacquer()?
        .args(["features", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read(&out)?, b"keep me");
    Ok(())
}

#[test]
fn a_manifest_with_bad_rows_names_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let manifest = dir.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "{HEADER}\n\
             ok--c0,,,a.wav,0.0,10.0,,ambient,,t,train,x,real\n\
             bad--c0,,,a.wav,zero,10.0,,ambient,,t,holdout,x,real\n"
        ),
    )?;
    lacquer()?
        .args(["features", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path().join("f.npz"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"))
        .stderr(predicate::str::contains("holdout"));
    Ok(())
}
