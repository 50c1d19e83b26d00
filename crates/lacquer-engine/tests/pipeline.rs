//! The whole engine on real music and on generated material with a known
//! answer: every platform preset lands on its loudness target under its
//! ceiling and passes the gate; reference mode moves the tonal curve at
//! least halfway to the reference; mastering a master again changes little.
//!
//! Real tracks are the CI corpus subset (`training-data-manifest/ci-subset.txt`),
//! read from the corpus cache that `training-data-manifest/fetch --ci` fills.
//! A missing clip fails the test with that command: a silent skip would
//! let the real-music check vanish from CI unnoticed.

use lacquer_analysis::analyze;
use lacquer_core::chain::{EqBandKind, EqBandSettings};
use lacquer_core::{AudioBuffer, ChainSettings, GenreChoice, Intent, PlanOptions};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_engine::loudness_loop::LOUDNESS_TOLERANCE_LU;
use lacquer_engine::pipeline::{
    Engine, EngineConfig, ReferenceTrack, SharedReference, default_model_path,
};
use lacquer_engine::report::Device;
use lacquer_engine::{ExportOptions, Steering, TonalCurve, master_decoded};
use lacquer_io::{DecodeOptions, OutputFormat, Overwrite, WavEncoding, decode_file, write_file};
use lacquer_testkit::music::demo_mix;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// SPEC: the output's true peak is at or under the ceiling, no slack.
const TRUE_PEAK_SLACK_DB: f64 = 0.0;
/// Issue: reference mode at least halves the mean 1/3-octave distance.
const REFERENCE_DISTANCE_SHARE_MAX: f64 = 0.5;
/// Issue: the output's loudness is within 0.5 LU of the reference's.
const REFERENCE_LOUDNESS_TOL_LU: f64 = 0.5;
/// Issue: a re-master moves loudness by at most 0.1 LU...
const REMASTER_LOUDNESS_TOL_LU: f64 = 0.1;
/// ...and the tonal curve by at most 0.5 dB mean.
const REMASTER_TONAL_TOL_DB: f64 = 0.5;

fn device() -> Device {
    Device {
        kind: "cpu".into(),
        jobs: 1,
        threads: 1,
    }
}

/// A job writing a default WAV master of `input` to `output`, nothing else.
fn job<'a>(
    input: &'a Path,
    output: &'a Path,
    reference: Option<&'a SharedReference>,
    options: &'a PlanOptions,
) -> lacquer_engine::pipeline::MasterJob<'a> {
    lacquer_engine::pipeline::MasterJob {
        input,
        output,
        reference,
        options,
        export: ExportOptions::default(),
        overwrite: Overwrite::Refuse,
        report_path: None,
        png_path: None,
        device: device(),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_dir() -> PathBuf {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = non_empty("LACQUER_CORPUS_DIR") {
        return PathBuf::from(d);
    }
    let cache = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME is set");
    cache.join("lacquer").join("corpus")
}

/// The CI subset's clips; panics naming the fetch command if one is missing.
fn ci_clips() -> Vec<PathBuf> {
    let list = std::fs::read_to_string(repo_root().join("training-data-manifest/ci-subset.txt"))
        .expect("read training-data-manifest/ci-subset.txt");
    let clips: Vec<PathBuf> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|id| corpus_dir().join("clips").join(format!("{id}.wav")))
        .collect();
    assert!(!clips.is_empty(), "ci-subset.txt lists no clips");
    let missing: Vec<String> = clips
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "corpus clips missing: {}\nfetch them with `training-data-manifest/fetch --ci` \
         (or point LACQUER_CORPUS_DIR at a cache that has them)",
        missing.join(", ")
    );
    clips
}

fn engine(load_model: bool) -> Engine {
    if load_model {
        assert!(
            default_model_path().is_file(),
            "genre model {} is missing",
            default_model_path().display()
        );
    }
    Engine::new(&EngineConfig {
        load_model,
        ..EngineConfig::default()
    })
    .expect("engine")
}

#[test]
fn real_tracks_meet_every_platform_target_and_pass_the_gate() {
    let engine = engine(true);
    let platforms = engine.platforms().platforms.clone();
    assert!(platforms.len() >= 10, "expected the 10 platform presets");
    let export = ExportOptions {
        format: OutputFormat::Wav(WavEncoding::Pcm24),
        sample_rate_hz: None,
    };
    let mut worst_lu = 0.0f64;
    let mut worst_margin_db = f64::INFINITY;
    for clip in ci_clips() {
        let (decoded, analysis) = engine.load(&clip).unwrap();
        let name = clip.file_stem().unwrap().to_string_lossy().into_owned();
        // Classify once per clip; the platform only changes the target.
        let first = engine
            .steer(&decoded, &analysis, None, &PlanOptions::default())
            .unwrap();
        let genre = first.genre.clone().unwrap();
        let top = &genre.top().unwrap().label;
        for platform in &platforms {
            let options = PlanOptions {
                platform: platform.id.clone(),
                genre: GenreChoice::Named(top.clone()),
                ..PlanOptions::default()
            };
            let steering = engine.steer(&decoded, &analysis, None, &options).unwrap();
            let target = steering.plan.target;
            let m = master_decoded(
                decoded.clone(),
                &analysis,
                steering,
                &export,
                device(),
                Instant::now(),
            )
            .unwrap();
            let out = &m.report.output_analysis.loudness;
            let lufs = out.integrated_lufs.unwrap().0;
            let tp = out.max_true_peak_dbtp.unwrap().0;
            let off = lufs - target.integrated_lufs.0;
            println!(
                "{name:<48} {:<12} {lufs:7.2} LUFS ({off:+.3}), {tp:6.2} dBTP (ceiling {:.1}), {} pass(es), gate {}",
                platform.id,
                target.ceiling_dbtp.0,
                m.report.loudness_loop.passes.len(),
                if m.report.gate.passed {
                    "passed"
                } else {
                    "FAILED"
                }
            );
            assert!(
                off.abs() <= LOUDNESS_TOLERANCE_LU,
                "{name} {}: {off:+.3} LU",
                platform.id
            );
            assert!(
                tp <= target.ceiling_dbtp.0 + TRUE_PEAK_SLACK_DB,
                "{name} {}: {tp} dBTP",
                platform.id
            );
            assert!(
                m.report.gate.passed,
                "{name} {}: {}",
                platform.id,
                m.report.gate.failure_summary()
            );
            worst_lu = worst_lu.max(off.abs());
            worst_margin_db = worst_margin_db.min(target.ceiling_dbtp.0 - tp);
        }
    }
    println!(
        "worst |LUFS − target| {worst_lu:.3} LU, smallest margin under the ceiling {worst_margin_db:.3} dB"
    );
}

fn write_wav(buffer: &AudioBuffer, path: &Path) {
    write_file(
        buffer,
        path,
        OutputFormat::Wav(WavEncoding::Float32),
        Overwrite::Refuse,
    )
    .unwrap();
}

fn tilt(buffer: &AudioBuffer, low_db: f64, high_db: f64) -> AudioBuffer {
    let mut s = ChainSettings::default();
    s.eq.enabled = true;
    s.eq.bands = vec![
        EqBandSettings {
            kind: EqBandKind::LowShelf,
            frequency_hz: 250.0,
            gain_db: low_db,
            ..EqBandSettings::default()
        },
        EqBandSettings {
            kind: EqBandKind::HighShelf,
            frequency_hz: 3000.0,
            gain_db: high_db,
            ..EqBandSettings::default()
        },
    ];
    let mut chain = Chain::new(&s);
    chain.prepare(buffer.sample_rate(), 4096).unwrap();
    chain.process_buffer(buffer).unwrap().0
}

fn distance(a: &lacquer_core::Analysis, b: &lacquer_core::Analysis) -> f64 {
    TonalCurve::from_analysis(a)
        .unwrap()
        .mean_abs_difference_db(&TonalCurve::from_analysis(b).unwrap())
        .unwrap()
}

/// A shared reference measured on another thread steers a master exactly
/// as one measured beforehand; one that cannot be read fails every job
/// with `ReferenceUnavailable` and keeps its own error, once.
#[test]
fn a_shared_reference_gives_the_same_master_and_fails_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mix_path, ref_path) = (dir.path().join("mix.wav"), dir.path().join("ref.wav"));
    write_wav(&demo_mix(44_100, 6.0, -8.0, 50), &mix_path);
    write_wav(&demo_mix(44_100, 6.0, -4.0, 51), &ref_path);
    let engine = engine(false);
    let options = PlanOptions {
        intent: Intent::Reference,
        ..PlanOptions::default()
    };
    let master = |reference: &SharedReference, name: &str| {
        let output = dir.path().join(name);
        let job = job(&mix_path, &output, Some(reference), &options);
        engine
            .master_file(&job)
            .map(|_| std::fs::read(&output).unwrap())
    };
    let measured = SharedReference::measured(engine.load_reference(&ref_path).unwrap());
    let before = master(&measured, "before.wav").unwrap();
    let shared = SharedReference::new(&ref_path);
    let beside = std::thread::scope(|scope| {
        scope.spawn(|| shared.measure(&engine));
        master(&shared, "beside.wav").unwrap()
    });
    assert_eq!(before, beside, "same master bytes");

    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"RIFF....WAVEnot really").unwrap();
    let bad = SharedReference::new(&garbage);
    bad.measure(&engine);
    let cause = bad.failure().expect("the garbage reference fails");
    assert!(cause.is_invalid_input(), "{cause}");
    assert!(cause.to_string().contains("garbage.wav"), "{cause}");
    let err = master(&bad, "never.wav").unwrap_err();
    assert!(
        matches!(
            err,
            lacquer_engine::EngineError::ReferenceUnavailable { .. }
        ),
        "{err}"
    );
    assert!(!dir.path().join("never.wav").exists());
}

/// Writes `mix` and `reference` as files and masters the mix in reference
/// mode at the default settings; returns the master and the measured
/// reference.
fn master_against_reference(
    mix: &AudioBuffer,
    reference: &AudioBuffer,
) -> (lacquer_engine::mastering::Mastered, ReferenceTrack) {
    let dir = tempfile::tempdir().unwrap();
    let (mix_path, ref_path) = (dir.path().join("mix.wav"), dir.path().join("ref.wav"));
    write_wav(mix, &mix_path);
    write_wav(reference, &ref_path);
    let engine = engine(false);
    let reference = engine.load_reference(&ref_path).unwrap();
    let options = PlanOptions {
        intent: Intent::Reference,
        ..PlanOptions::default()
    };
    let m = engine
        .master_in_memory(
            &mix_path,
            Some(&reference),
            &options,
            &ExportOptions::default(),
            device(),
        )
        .unwrap();
    (m, reference)
}

#[test]
fn reference_mode_halves_the_tonal_distance_and_matches_loudness() {
    // The same music; the mix is a dull, bass-heavy, quieter version of
    // the reference (a known tilt of +5 dB below 250 Hz, −5 dB above 3 kHz).
    let reference = demo_mix(44_100, 20.0, -1.0, 77);
    let mut mix = tilt(&reference, 5.0, -5.0);
    mix.apply_gain(0.5);
    let (m, reference) = master_against_reference(&mix, &reference);
    let before = distance(&m.report.input_analysis, &reference.analysis);
    let after = distance(&m.report.output_analysis, &reference.analysis);
    let ref_lufs = reference.analysis.loudness.integrated_lufs.unwrap().0;
    let out_lufs = m.report.output_analysis.loudness.integrated_lufs.unwrap().0;
    println!(
        "mean |mix − ref| {before:.2} dB → |master − ref| {after:.2} dB ({:.0} %); loudness {out_lufs:.2} vs reference {ref_lufs:.2} LUFS",
        100.0 * after / before
    );
    assert!(
        after <= REFERENCE_DISTANCE_SHARE_MAX * before,
        "{after} vs {before}"
    );
    assert!((out_lufs - ref_lufs).abs() <= REFERENCE_LOUDNESS_TOL_LU);
    assert!(m.report.gate.passed, "{}", m.report.gate.failure_summary());
}

/// Mean |a − b| of two analyses' loudness-normalised SIDE curves over the
/// bands both carry, 40 Hz–16 kHz (the benchmark's side distance).
fn side_distance(a: &lacquer_core::Analysis, b: &lacquer_core::Analysis) -> f64 {
    let curve = |x: &lacquer_core::Analysis| {
        let tonal = x.tonal.as_ref().unwrap();
        let lufs = x.loudness.integrated_lufs.unwrap().0;
        tonal
            .third_octave_centres_hz
            .iter()
            .zip(&tonal.side_db)
            .filter(|(f, d)| (40.0..=16_000.0).contains(&f.0) && d.0 > tonal.floor_db.0)
            .map(|(f, d)| (f.0, d.0 - lufs))
            .collect::<Vec<_>>()
    };
    let (ca, cb) = (curve(a), curve(b));
    let diffs: Vec<f64> = ca
        .iter()
        .filter_map(|(f, x)| cb.iter().find(|(g, _)| g == f).map(|(_, y)| (x - y).abs()))
        .collect();
    assert!(!diffs.is_empty());
    diffs.iter().sum::<f64>() / diffs.len() as f64
}

/// The same music with its SIDE scaled by `side_gain` (a width change made
/// with plain mid/side arithmetic, independent of the chain under test).
fn rescale_side(buffer: &AudioBuffer, side_gain: f32) -> AudioBuffer {
    let (l, r) = (buffer.channel(0), buffer.channel(1));
    let (left, right) = l
        .iter()
        .zip(r)
        .map(|(&l, &r)| {
            let (mid, side) = (0.5 * (l + r), 0.5 * (l - r) * side_gain);
            (mid + side, mid - side)
        })
        .unzip();
    AudioBuffer::stereo(buffer.sample_rate(), left, right).unwrap()
}

#[test]
fn reference_mode_matches_the_side_curve_too() {
    // The mix is the reference made 8 dB wider and duller: its SIDE sits
    // 8 dB higher against its MID, and its top is 4 dB down. Matching one
    // width figure (or mono lows) would leave the SIDE curve off; the
    // match EQ's SIDE curve brings it back band by band.
    let reference = demo_mix(44_100, 20.0, -1.0, 91);
    let mut mix = rescale_side(&tilt(&reference, 0.0, -4.0), 10f32.powf(8.0 / 20.0));
    mix.apply_gain(0.5);
    let (m, reference) = master_against_reference(&mix, &reference);
    let (input, output, target) = (
        &m.report.input_analysis,
        &m.report.output_analysis,
        &reference.analysis,
    );
    let (side_before, side_after) = (side_distance(input, target), side_distance(output, target));
    let (mid_before, mid_after) = (distance(input, target), distance(output, target));
    println!(
        "SIDE |mix − ref| {side_before:.2} dB → {side_after:.2} dB; MID {mid_before:.2} → {mid_after:.2} dB"
    );
    assert!(
        side_after <= REFERENCE_DISTANCE_SHARE_MAX * side_before,
        "SIDE {side_after} vs {side_before}"
    );
    assert!(
        mid_after <= REFERENCE_DISTANCE_SHARE_MAX * mid_before,
        "MID {mid_after} vs {mid_before}"
    );
    let settings = &m.report.plan.settings;
    assert!(settings.eq.match_eq.side_curve.is_some(), "{settings:?}");
    assert!(!settings.stereo.mono_bass, "{:?}", settings.stereo);
    assert!(m.report.gate.passed, "{}", m.report.gate.failure_summary());
}

/// Masters each input, masters the master again at the same settings and
/// returns the inputs whose second pass moved loudness or tone beyond the
/// issue's limits.
fn remaster_failures(engine: &Engine, inputs: &[PathBuf]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let export = ExportOptions {
        format: OutputFormat::Wav(WavEncoding::Float32),
        sample_rate_hz: None,
    };
    let mut failures = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let options = PlanOptions::default();
        let first = engine
            .master_in_memory(input, None, &options, &export, device())
            .unwrap();
        let once = dir.path().join(format!("once-{i}.wav"));
        std::fs::write(&once, first.encoded.bytes().unwrap()).unwrap();
        let second = engine
            .master_in_memory(&once, None, &options, &export, device())
            .unwrap();
        let a = &first.report.output_analysis;
        let b = &second.report.output_analysis;
        let dl = b.loudness.integrated_lufs.unwrap().0 - a.loudness.integrated_lufs.unwrap().0;
        let dt = distance(a, b);
        let name = input.file_name().unwrap().to_string_lossy();
        println!(
            "{name}: re-master moved loudness {dl:+.3} LU, tonal curve {dt:.3} dB mean ({} decisions the second time)",
            second.report.plan.decisions.len()
        );
        if dl.abs() > REMASTER_LOUDNESS_TOL_LU || dt > REMASTER_TONAL_TOL_DB {
            failures.push(format!("{name}: {dl:+.3} LU, {dt:.3} dB"));
        }
    }
    failures
}

#[test]
fn remastering_a_real_master_changes_little() {
    let failures = remaster_failures(&engine(true), &ci_clips());
    assert!(
        failures.is_empty(),
        "re-masters beyond {REMASTER_LOUDNESS_TOL_LU} LU / {REMASTER_TONAL_TOL_DB} dB: {failures:?}"
    );
}

/// The generated demo mix is far from every profile (the classifier calls
/// it chiptune; its air is 18 dB above that profile's): the first pass
/// cuts such bands only by the EQ's 5 dB limit, so a second pass cuts
/// again. Kept as a measured limitation, not hidden.
#[test]
#[ignore = "known limitation (issue 5 note): a mix beyond the EQ's cut limit is moved again by a \
            re-master; the generated demo mix measured 2.04 dB mean against the 0.5 dB limit"]
fn remastering_a_mix_beyond_the_eq_limits_changes_little() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("demo.wav");
    write_wav(&demo_mix(44_100, 15.0, -6.0, 31), &generated);
    let failures = remaster_failures(&engine(true), &[generated]);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn a_master_is_bit_identical_across_runs() {
    let engine = engine(true);
    let clip = &ci_clips()[0];
    let run = || {
        engine
            .master_in_memory(
                clip,
                None,
                &PlanOptions::default(),
                &ExportOptions::default(),
                device(),
            )
            .unwrap()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.encoded.bytes().unwrap(), b.encoded.bytes().unwrap());
    let strip = |m: &lacquer_engine::Mastered| {
        let mut r = m.report.clone();
        r.runtime_seconds = 0.0;
        r.stage_seconds = Default::default();
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(strip(&a), strip(&b), "reports differ beyond runtime");
}

#[test]
fn bad_inputs_keep_their_error_class_and_write_nothing() {
    let engine = engine(false);
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
    let short = dir.path().join("short.wav");
    write_wav(&demo_mix(44_100, 0.5, -6.0, 1), &short);
    let silent = dir.path().join("silent.wav");
    write_wav(
        &AudioBuffer::silence(44_100, 2, 44_100 * 3).unwrap(),
        &silent,
    );
    let missing = dir.path().join("missing.wav");
    let options = PlanOptions {
        genre: GenreChoice::Named(
            engine
                .profiles()
                .names()
                .first()
                .map_or("pop".into(), |s| (*s).to_owned()),
        ),
        ..PlanOptions::default()
    };
    for input in [&garbage, &short, &silent, &missing] {
        let before = std::fs::read(input).ok();
        let output = dir.path().join("out.wav");
        let job = job(input, &output, None, &options);
        let err = engine.master_file(&job).unwrap_err();
        println!("{}: {err}", input.display());
        assert!(err.is_invalid_input(), "{}: {err}", input.display());
        assert!(
            err.to_string()
                .contains(&*input.file_name().unwrap().to_string_lossy())
        );
        assert!(!output.exists(), "no output on failure");
        assert_eq!(std::fs::read(input).ok(), before, "input untouched");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("lacquer-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_decoded_input_and_the_report_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.wav");
    write_wav(&demo_mix(48_000, 6.0, -6.0, 3), &path);
    let decoded = decode_file(&path, &DecodeOptions::default()).unwrap();
    let analysis = analyze(&decoded.buffer).unwrap();
    let engine = engine(false);
    let options = PlanOptions {
        genre: GenreChoice::Named(engine.profiles().names()[0].to_owned()),
        ..PlanOptions::default()
    };
    let steering: Steering = engine
        .steer(&decoded.clone().into(), &analysis, None, &options)
        .unwrap();
    let m = master_decoded(
        decoded,
        &analysis,
        steering,
        &ExportOptions::default(),
        device(),
        Instant::now(),
    )
    .unwrap();
    let r = &m.report;
    assert_eq!(r.input.sample_rate_hz, 48_000);
    assert_eq!(r.output.sample_rate_hz, 48_000);
    assert_eq!(r.output.bytes, m.encoded.len());
    assert_eq!(r.input_analysis, analysis);
    assert!(r.gate.checks.len() >= 10);
    assert!(r.deltas.is_some() && r.tonal_target.is_some());
    assert!(!r.plan.decisions.is_empty(), "every plan says why");
}

/// A generated mix with its right channel upside down: the master flips it
/// back (correlation positive again, the mono sum whole), the plan says so,
/// and `fix_polarity: false` leaves it inverted.
#[test]
fn an_inverted_channel_is_flipped_back_unless_kept() {
    /// Output correlation at least this after the fix (the mix's own
    /// correlation, before inversion, is about 0.8).
    const FIXED_CORRELATION_MIN: f64 = 0.5;
    let engine = engine(false);
    let dir = tempfile::tempdir().unwrap();
    let mix = demo_mix(44_100, 10.0, -6.0, 41);
    let inverted_right: Vec<f32> = mix.channel(1).iter().map(|x| -x).collect();
    let inverted = AudioBuffer::stereo(44_100, mix.channel(0).to_vec(), inverted_right).unwrap();
    let input = dir.path().join("inverted.wav");
    write_wav(&inverted, &input);
    let export = ExportOptions {
        format: OutputFormat::Wav(WavEncoding::Float32),
        sample_rate_hz: None,
    };
    let input_corr = analyze(&inverted).unwrap().stereo.correlation.unwrap();
    assert!(input_corr < -0.5, "fixture correlation {input_corr}");

    for fix_polarity in [true, false] {
        let options = PlanOptions {
            genre: GenreChoice::Named("electronic".into()),
            fix_polarity,
            ..PlanOptions::default()
        };
        let m = engine
            .master_in_memory(&input, None, &options, &export, device())
            .unwrap();
        let out_corr = m.report.output_analysis.stereo.correlation.unwrap();
        let flipped = m.report.plan.settings.polarity.invert_right;
        let said = m
            .report
            .plan
            .decisions
            .iter()
            .any(|d| d.stage == lacquer_core::PlanStage::Polarity);
        println!("fix_polarity {fix_polarity}: input corr {input_corr:.2}, output {out_corr:.2}");
        assert!(said, "the plan explains the polarity either way");
        if fix_polarity {
            assert!(flipped);
            assert!(out_corr >= FIXED_CORRELATION_MIN, "{out_corr}");
            assert!(
                m.report
                    .warnings
                    .iter()
                    .any(|w| w.code == "polarity_corrected")
            );
        } else {
            assert!(!flipped);
            assert!(out_corr < -0.5, "{out_corr}");
        }
    }
}

/// Long inputs are worked on from temporary files; the master must not
/// depend on where the work was kept. With every intermediate on disk
/// (spill threshold 0) the written master and its report are the ones made
/// in memory, byte for byte: on a real clip with the genre classified, on
/// an inverted-polarity mix (the corrected analysis and the classifier
/// read the spool), and on a 96 kHz mix delivered at 48 kHz.
#[test]
fn working_from_disk_gives_the_same_master_as_working_in_memory() {
    let in_memory = engine(true);
    let on_disk = Engine::new(&EngineConfig {
        load_model: true,
        spill_frames: Some(0),
        ..EngineConfig::default()
    })
    .expect("engine");
    let dir = tempfile::tempdir().unwrap();
    let mix = demo_mix(44_100, 8.0, -6.0, 43);
    let inverted_right: Vec<f32> = mix.channel(1).iter().map(|x| -x).collect();
    let inverted = AudioBuffer::stereo(44_100, mix.channel(0).to_vec(), inverted_right).unwrap();
    let inverted_path = dir.path().join("inverted.wav");
    write_wav(&inverted, &inverted_path);
    let hi_res_path = dir.path().join("hi-res.wav");
    write_wav(&demo_mix(96_000, 5.0, -6.0, 44), &hi_res_path);
    let inputs = [ci_clips()[0].clone(), inverted_path, hi_res_path];

    let options = PlanOptions::default();
    for input in &inputs {
        let master = |engine: &Engine, name: &str| {
            let output = dir.path().join(name);
            let job = job(input, &output, None, &options);
            let outcome = engine.master_file(&job).unwrap();
            let mut report = outcome.report;
            report.runtime_seconds = 0.0;
            report.stage_seconds = Default::default();
            report.output.path = None;
            (
                std::fs::read(&output).unwrap(),
                serde_json::to_string(&report).unwrap(),
            )
        };
        let stem = input.file_stem().unwrap().to_string_lossy();
        let (memory_bytes, memory_report) = master(&in_memory, &format!("{stem}-memory.wav"));
        let (disk_bytes, disk_report) = master(&on_disk, &format!("{stem}-disk.wav"));
        assert!(
            memory_bytes == disk_bytes,
            "{stem}: the master differs when worked on from disk"
        );
        assert!(
            memory_report == disk_report,
            "{stem}: the report differs when worked on from disk"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("lacquer-tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staged files left behind: {leftovers:?}"
    );
}
