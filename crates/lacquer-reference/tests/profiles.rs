//! Profiles: building (deterministic, derived from measurements), TOML round
//! trip, blending, the store and the platforms table.

use lacquer_analysis::analyze;
use lacquer_core::profile::{PROFILE_SCHEMA_VERSION, ProfileProvenance};
use lacquer_core::{Analysis, AudioBuffer, DeltaTarget, Profile};
use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_reference::{
    ProfileOrigin, ProfileStore, ReferenceError, TrackMeasurement, blend_profiles,
    build_from_folder, build_profile, builtin_platforms, deltas_vs_profile, parse_profile,
    profile_to_toml,
};
use lacquer_testkit::music::{demo_mix, kick_loop};
use std::sync::OnceLock;

/// Stored profile numbers are rounded to 0.01 dB; a track compared with a
/// profile built from itself alone differs by at most half of that.
const TOL_PROFILE_ROUNDING_DB: f64 = 0.005 + 1e-9;
/// Width and correlation are stored to 0.001.
const TOL_PROFILE_ROUNDING_RATIO: f64 = 0.0005 + 1e-9;

fn analysed(buffer: &AudioBuffer) -> Analysis {
    analyze(buffer).expect("test signals are valid")
}

fn provenance(tracks: u32) -> ProfileProvenance {
    ProfileProvenance {
        built_by: "tests/profiles.rs".into(),
        engine_version: lacquer_core::ENGINE_VERSION.into(),
        tracks,
        clips: tracks,
        source_hash: "0".repeat(64),
        sources: "generated".into(),
    }
}

fn track(id: &str, seeds: &[u64]) -> TrackMeasurement {
    TrackMeasurement {
        track_id: id.into(),
        clips: seeds
            .iter()
            .map(|&s| analysed(&demo_mix(44_100, 3.0, -3.0 - s as f64, s)))
            .collect(),
    }
}

/// Three tracks (two, one and three clips), measured once for all tests.
fn tracks() -> &'static [TrackMeasurement] {
    static TRACKS: OnceLock<Vec<TrackMeasurement>> = OnceLock::new();
    TRACKS.get_or_init(|| {
        vec![
            track("a", &[1, 2]),
            track("b", &[3]),
            track("c", &[4, 5, 6]),
        ]
    })
}

fn small_profile(name: &str) -> Profile {
    build_profile(name, "test", tracks(), provenance(3)).expect("buildable")
}

#[test]
fn a_track_matches_a_profile_built_from_itself() {
    let mix = analysed(&demo_mix(44_100, 8.0, -6.0, 21));
    let tracks = [TrackMeasurement {
        track_id: "only".into(),
        clips: vec![mix.clone()],
    }];
    let profile = build_profile("solo", "test", &tracks, provenance(1)).expect("buildable");
    let d = deltas_vs_profile(&mix, &profile, &[]);
    assert_eq!(
        d.target,
        DeltaTarget::Profile {
            names: vec!["solo".into()],
            weights: vec![1.0]
        }
    );
    let tonal = d.tonal.as_ref().expect("tonal deltas");
    let compared = tonal.mid_db.iter().filter(|v| v.0 != 0.0).count();
    for (c, v) in tonal.third_octave_centres_hz.iter().zip(&tonal.mid_db) {
        assert!(v.0.abs() <= TOL_PROFILE_ROUNDING_DB, "{} Hz: {}", c.0, v.0);
    }
    assert!(compared > 0 || tonal.mean_abs_db.0 == 0.0);
    assert!(tonal.mean_abs_db.0 <= TOL_PROFILE_ROUNDING_DB);
    assert_eq!(d.loudness_lu, None, "a genre sets no delivery loudness");
    for (name, v) in [
        ("crest", d.crest_db.map(|x| x.0)),
        ("plr", d.plr_db.map(|x| x.0)),
        ("lra", d.lra_lu.map(|x| x.0)),
    ] {
        let v = v.unwrap_or(f64::NAN);
        assert!(v.abs() <= TOL_PROFILE_ROUNDING_DB, "{name}: {v}");
    }
    let w = d.width.unwrap_or(f64::NAN);
    assert!(w.abs() <= TOL_PROFILE_ROUNDING_RATIO, "width: {w}");
    let c = d.low_end_correlation.unwrap_or(f64::NAN);
    assert!(
        c.abs() <= TOL_PROFILE_ROUNDING_RATIO,
        "low-end correlation: {c}"
    );
}

#[test]
fn profile_deltas_are_distances_outside_the_range_signed_target_minus_mix() {
    let mut profile = small_profile("ranges");
    let mix = analysed(&demo_mix(44_100, 8.0, -6.0, 21));
    let plr = mix.loudness.plr_db.map_or(f64::NAN, |p| p.0);
    // Range entirely below the mix: the mix must come down by the gap.
    profile.dynamics.plr_db.low = plr - 5.0;
    profile.dynamics.plr_db.typical = plr - 4.0;
    profile.dynamics.plr_db.high = plr - 3.0;
    // Range entirely above: the mix must go up.
    let crest = mix.loudness.crest_factor_db.map_or(f64::NAN, |c| c.0);
    profile.dynamics.crest_db.low = crest + 2.0;
    profile.dynamics.crest_db.typical = crest + 3.0;
    profile.dynamics.crest_db.high = crest + 4.0;
    // Low end less correlated than the profile allows.
    let corr = mix.stereo.correlation_below_150hz.unwrap_or(f64::NAN);
    profile.stereo.low_end_correlation_min = (corr + 0.1).min(1.0);
    let d = deltas_vs_profile(
        &mix,
        &profile,
        &[("ranges".into(), 0.7), ("other".into(), 0.3)],
    );
    assert!((d.plr_db.map_or(f64::NAN, |x| x.0) + 3.0).abs() < 1e-9);
    assert!((d.crest_db.map_or(f64::NAN, |x| x.0) - 2.0).abs() < 1e-9);
    let expected_corr = profile.stereo.low_end_correlation_min - corr;
    assert!((d.low_end_correlation.unwrap_or(f64::NAN) - expected_corr).abs() < 1e-9);
    assert_eq!(
        d.target,
        DeltaTarget::Profile {
            names: vec!["ranges".into(), "other".into()],
            weights: vec![0.7, 0.3]
        }
    );
}

#[test]
fn building_is_deterministic_to_the_byte() {
    let a = profile_to_toml(&small_profile("det")).expect("serialisable");
    let b = profile_to_toml(&small_profile("det")).expect("serialisable");
    assert_eq!(a, b);
    // Built from measurements: three different tracks give a real spread
    // and an ordered range.
    let p = small_profile("det");
    let r = p.dynamics.integrated_lufs;
    assert!(r.low < r.high, "three tracks at different levels: {r:?}");
    assert!(p.tonal.mid_spread_db.iter().any(|s| s.0 > 0.0));
}

#[test]
fn toml_round_trip_is_lossless_and_has_a_header() {
    let profile = small_profile("round_trip");
    let text = profile_to_toml(&profile).expect("serialisable");
    assert!(text.starts_with("# Lacquer genre profile `round_trip`"));
    assert!(text.contains("Built by: tests/profiles.rs"));
    let back = parse_profile(&text, "memory").expect("parses");
    assert_eq!(back, profile);
}

#[test]
fn bad_profiles_are_refused_naming_the_file() {
    let profile = small_profile("bad");
    let text = profile_to_toml(&profile).expect("serialisable");
    let newer = text.replace(
        &format!("schema_version = {PROFILE_SCHEMA_VERSION}"),
        "schema_version = 99",
    );
    let err = parse_profile(&newer, "mine/bad.toml").expect_err("wrong version");
    assert!(matches!(
        err,
        ReferenceError::SchemaVersion {
            found: Some(99),
            ..
        }
    ));
    assert!(err.to_string().contains("mine/bad.toml"), "{err}");
    let broken = parse_profile("name = [", "mine/broken.toml").expect_err("bad TOML");
    assert!(
        broken.to_string().starts_with("mine/broken.toml"),
        "{broken}"
    );
    assert!(broken.is_invalid_input());
    let short = text.replacen("mid_db = [", "mid_db = [1.0, ", 1);
    let err = parse_profile(&short, "mine/short.toml").expect_err("length mismatch");
    assert!(err.to_string().contains("differ in length"), "{err}");
}

#[test]
fn blend_with_weights_one_and_zero_is_the_first_profile() {
    let a = small_profile("a");
    let mut b = small_profile("b");
    for v in &mut b.tonal.mid_db {
        v.0 += 4.0;
    }
    b.style.glue = 1.0;
    assert_eq!(blend_profiles(&[(&a, 1.0), (&b, 0.0)]).expect("valid"), a);
    assert_eq!(blend_profiles(&[(&b, 0.0), (&a, 3.0)]).expect("valid"), a);
}

#[test]
fn blend_is_the_weighted_mean_with_renormalised_weights() {
    let a = small_profile("a");
    let mut b = small_profile("b");
    for v in &mut b.tonal.mid_db {
        v.0 += 4.0;
    }
    b.style.glue = (a.style.glue + 0.5).min(1.0);
    // Weights 3:1 renormalise to 0.75 / 0.25.
    let blend = blend_profiles(&[(&b, 1.0), (&a, 3.0)]).expect("valid");
    assert_eq!(blend.name, "blend(a 0.75, b 0.25)");
    for (x, y) in a.tonal.mid_db.iter().zip(&blend.tonal.mid_db) {
        assert!(
            (y.0 - (x.0 + 1.0)).abs() <= 0.005 + 1e-9,
            "{} vs {}",
            x.0,
            y.0
        );
    }
    let glue = 0.75 * a.style.glue + 0.25 * b.style.glue;
    assert!((blend.style.glue - glue).abs() <= 0.0005 + 1e-9);
    assert!(blend_profiles(&[(&a, -1.0), (&b, 2.0)]).is_err());
    assert!(blend_profiles(&[(&a, 0.0)]).is_err());
    assert!(blend_profiles(&[(&a, f64::NAN)]).is_err());
    assert!(blend_profiles(&[]).is_err());
}

#[test]
fn platforms_table_has_the_ten_platforms_of_the_issue() {
    let table = builtin_platforms().expect("embedded platforms.toml parses");
    let expected: [(&str, Option<f64>, f64); 10] = [
        ("spotify", Some(-14.0), -1.0),
        ("apple_music", Some(-16.0), -1.0),
        ("youtube", Some(-14.0), -1.0),
        ("amazon_music", Some(-14.0), -2.0),
        ("tidal", Some(-14.0), -1.0),
        ("deezer", Some(-15.0), -1.0),
        ("soundcloud", Some(-14.0), -1.0),
        ("ebu_r128", Some(-23.0), -1.0),
        ("atsc_a85", Some(-24.0), -2.0),
        ("cd", None, -0.3),
    ];
    assert_eq!(table.platforms.len(), expected.len());
    for (id, lufs, ceiling) in expected {
        let p = table.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(p.target_lufs, lufs, "{id}");
        assert_eq!(p.ceiling_dbtp, ceiling, "{id}");
        assert!(!p.note.is_empty(), "{id} says where its numbers come from");
    }
    assert_eq!(
        table.get("Spotify").map(|p| p.name.as_str()),
        Some("Spotify")
    );
}

#[test]
fn builtin_profiles_are_the_corpus_genres_and_current() {
    let store = ProfileStore::load(None).expect("embedded profiles parse");
    assert_eq!(
        store.names(),
        [
            "ambient",
            "chiptune_tracker",
            "electronic",
            "metal_rock",
            "orchestral"
        ]
    );
    for entry in store.iter() {
        let p = &entry.profile;
        assert_eq!(p.schema_version, PROFILE_SCHEMA_VERSION);
        assert!(matches!(entry.origin, ProfileOrigin::BuiltIn(_)));
        assert!(
            p.provenance.tracks >= 7,
            "{}: {} tracks",
            p.name,
            p.provenance.tracks
        );
        assert!(p.provenance.built_by.contains("--manifest"), "{}", p.name);
        assert!(p.tonal.third_octave_centres_hz.len() >= 29, "{}", p.name);
    }
}

fn write_wav(buffer: &AudioBuffer, path: &std::path::Path) {
    write_file(
        buffer,
        path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .expect("temp dir is writable");
}

#[test]
fn folder_profiles_are_deterministic_and_join_the_store() {
    let refs = tempfile::tempdir().expect("temp dir");
    write_wav(
        &demo_mix(44_100, 5.0, -2.0, 5),
        &refs.path().join("one.wav"),
    );
    write_wav(
        &demo_mix(48_000, 4.0, -8.0, 6),
        &refs.path().join("two.wav"),
    );
    write_wav(
        &kick_loop(44_100, 4.0, -4.0),
        &refs.path().join("three.wav"),
    );
    std::fs::write(refs.path().join("notes.txt"), "not audio").expect("writable");
    let mut calls = 0;
    let first = build_from_folder(refs.path(), "refs", "my_pop", &mut |_, _, _| calls += 1)
        .expect("buildable");
    assert_eq!(calls, 3, "three audio files, the text file ignored");
    let second =
        build_from_folder(refs.path(), "refs", "my_pop", &mut |_, _, _| {}).expect("buildable");
    let (a, b) = (
        profile_to_toml(&first).expect("ser"),
        profile_to_toml(&second).expect("ser"),
    );
    assert_eq!(a, b, "same folder, same bytes");
    assert_eq!(first.provenance.tracks, 3);

    let user = tempfile::tempdir().expect("temp dir");
    std::fs::write(user.path().join("my_pop.toml"), &a).expect("writable");
    let store = ProfileStore::load(Some(user.path())).expect("loads");
    assert!(store.names().contains(&"my_pop"));
    assert!(store.names().contains(&"ambient"));
    assert!(matches!(
        store.entry("my_pop").map(|e| &e.origin),
        Some(ProfileOrigin::User(_))
    ));
    // A second file with the same profile name is ambiguous.
    std::fs::write(user.path().join("copy.toml"), &a).expect("writable");
    let err = ProfileStore::load(Some(user.path())).expect_err("duplicate");
    assert!(err.to_string().contains("my_pop"), "{err}");
    // A broken file is named.
    std::fs::remove_file(user.path().join("copy.toml")).expect("removable");
    std::fs::write(user.path().join("broken.toml"), "schema_version = ").expect("writable");
    let err = ProfileStore::load(Some(user.path())).expect_err("broken");
    assert!(err.to_string().contains("broken.toml"), "{err}");
    // Bad names are refused before any work.
    assert!(build_from_folder(refs.path(), "refs", "My Pop", &mut |_, _, _| {}).is_err());
    let empty = tempfile::tempdir().expect("temp dir");
    let err =
        build_from_folder(empty.path(), "empty", "x", &mut |_, _, _| {}).expect_err("no audio");
    assert!(err.to_string().contains("no audio files"), "{err}");
}

#[test]
fn builtin_style_numbers_follow_the_stated_rules() {
    // Style is derived from the unrounded medians; the files store the
    // medians to 0.01 dB, which moves a ramp over 9-10 dB by at most 0.0006,
    // and the style itself is rounded to 0.001.
    const TOL_STYLE: f64 = 0.0006 + 0.0005 + 1e-9;
    let store = ProfileStore::load(None).expect("embedded profiles parse");
    for p in store.iter().map(|e| &e.profile) {
        let from_file = lacquer_reference::derive_style(
            Some(p.dynamics.plr_db.typical),
            None,
            Some(p.dynamics.crest_db.typical),
        );
        assert!(
            (from_file.glue - p.style.glue).abs() <= TOL_STYLE,
            "{}: glue {} vs rule {}",
            p.name,
            p.style.glue,
            from_file.glue
        );
        assert!(
            (from_file.saturation - p.style.saturation).abs() <= TOL_STYLE,
            "{}: saturation {} vs rule {}",
            p.name,
            p.style.saturation,
            from_file.saturation
        );
        // multiband = glue × a 0…1 factor.
        assert!(p.style.multiband <= p.style.glue + 1e-9, "{}", p.name);
    }
}
