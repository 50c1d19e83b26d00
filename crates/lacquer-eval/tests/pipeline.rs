//! The whole evaluation on the committed fixture corpus with stand-in
//! classifiers: manifest → clips (local files, a stem sum, cuts) → models →
//! tables → files. The outputs must agree with each other: confusion counts
//! sum to the clip count, and the summary's metrics are recomputed here from
//! predictions.csv alone.

use lacquer_core::{AudioBuffer, GenreScore, GenreScores};
use lacquer_eval::report::{self, RunInfo};
use lacquer_eval::{
    Classifier, ClassifierError, ModelResult, Split, evaluate, load_clip, read_manifest,
};
use lacquer_io::{DecodeOptions, Overwrite};
use polars::prelude::{CsvReadOptions, DataFrame, SerReader};
use std::path::{Path, PathBuf};

/// Recomputed and reported figures must agree to rounding.
const TOL: f64 = 1e-12;

fn manifest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/manifest.csv")
}

/// A stand-in model: zero-crossing rate and level decide, deterministically.
struct Heuristic {
    name: &'static str,
    labels: Vec<String>,
    /// Crossings per second above which a clip is called chiptune.
    bright_zcr: f64,
}

impl Heuristic {
    fn new(name: &'static str, bright_zcr: f64) -> Self {
        Self {
            name,
            labels: ["ambient", "chiptune_tracker", "electronic", "orchestral"]
                .map(String::from)
                .to_vec(),
            bright_zcr,
        }
    }
}

impl Classifier for Heuristic {
    fn name(&self) -> &str {
        self.name
    }
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn classify(&mut self, audio: &AudioBuffer) -> Result<GenreScores, ClassifierError> {
        let x = audio.channel(0);
        let crossings = x
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let zcr = crossings as f64 / audio.duration_seconds();
        let peak = audio.sample_peak() as f64;
        let mut p = [0.1, 0.1, 0.1, 0.1];
        let pick = if zcr > self.bright_zcr {
            1
        } else if peak > 0.6 {
            2
        } else {
            0
        };
        p[pick] = 0.7;
        let scores = self
            .labels
            .iter()
            .zip(p)
            .map(|(label, probability)| GenreScore {
                label: label.clone(),
                probability,
            })
            .collect();
        Ok(GenreScores::new(self.name, scores, 1))
    }
}

fn run_on_fixture(split: Split) -> (RunInfo, Vec<ModelResult>) {
    let manifest = read_manifest(&manifest_path()).unwrap();
    let chosen = manifest.select(split).unwrap();
    let clips = manifest
        .resolve(&chosen, Path::new("/nonexistent-cache"), split)
        .unwrap();
    let mut models: Vec<Box<dyn Classifier>> = vec![
        Box::new(Heuristic::new("zcr-500", 500.0)),
        Box::new(Heuristic::new("zcr-2000", 2000.0)),
    ];
    let options = DecodeOptions::default();
    let results = evaluate(&clips, &mut models, |c| load_clip(c, &options), |_, _| {}).unwrap();
    let run = RunInfo {
        manifest: manifest_path(),
        split: split.as_str(),
        clips: clips.len(),
    };
    (run, results)
}

fn read_csv(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

fn strings(df: &DataFrame, column: &str) -> Vec<String> {
    df.column(column)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

fn floats(df: &DataFrame, column: &str) -> Vec<f64> {
    df.column(column)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect()
}

fn summary_value(summary: &DataFrame, model: &str, metric: &str) -> f64 {
    let row = strings(summary, "metric")
        .iter()
        .position(|m| m == metric)
        .unwrap();
    floats(summary, model)[row]
}

#[test]
fn split_selection_and_clip_loading() {
    let (run, results) = run_on_fixture(Split::Test);
    assert_eq!(run.clips, 6);
    assert_eq!(results[0].metrics.clips, 6);
    let (all, _) = run_on_fixture(Split::All);
    assert_eq!(all.clips, 7);

    // The stem clip is the sum of its two files, cut at 0.4 s for 3.25 s.
    let manifest = read_manifest(&manifest_path()).unwrap();
    let chosen = manifest.select(Split::Test).unwrap();
    let clips = manifest
        .resolve(&chosen, Path::new("/x"), Split::Test)
        .unwrap();
    let stem_clip = clips
        .iter()
        .find(|c| c.clip_id == "fixture--arp-2--c0")
        .unwrap();
    let audio = load_clip(stem_clip, &DecodeOptions::default()).unwrap();
    assert_eq!(audio.sample_rate(), 22_050);
    assert_eq!(audio.len(), (3.25_f64 * 22_050.0).round() as usize);
    let dir = manifest_path().parent().unwrap().join("chiptune_tracker");
    let lead = lacquer_io::decode_file(&dir.join("arp-2-lead.flac"), &DecodeOptions::default())
        .unwrap()
        .buffer;
    let bass = lacquer_io::decode_file(&dir.join("arp-2-bass.flac"), &DecodeOptions::default())
        .unwrap()
        .buffer;
    let start = (0.4_f64 * 22_050.0).round() as usize;
    for i in [0, 1000, audio.len() - 1] {
        let expected = lead.channel(0)[start + i] + bass.channel(0)[start + i];
        assert_eq!(audio.channel(0)[i], expected, "frame {i}");
    }
}

#[test]
fn written_report_is_consistent_with_itself() {
    let (run, results) = run_on_fixture(Split::Test);
    let rendered = report::render(&run, &results).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eval");
    let written = report::write(&out, &rendered.files, Overwrite::Refuse).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "summary.csv",
        "per_genre.csv",
        "calibration.csv",
        "predictions.csv",
        "confusion_zcr-500.csv",
        "confusion_zcr-500.png",
        "confusion_zcr-2000.csv",
        "confusion_zcr-2000.png",
        "summary.md",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let png = std::fs::read(out.join("confusion_zcr-500.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let summary = read_csv(&out.join("summary.csv"));
    let predictions = read_csv(&out.join("predictions.csv"));
    for r in &results {
        let name = r.name.as_str();
        let mine: Vec<usize> = strings(&predictions, "model")
            .iter()
            .enumerate()
            .filter(|(_, m)| *m == name)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(mine.len(), 6);
        let truth = strings(&predictions, "truth");
        let predicted = strings(&predictions, "predicted");
        let confidence = floats(&predictions, "confidence");

        // Confusion counts add up to the clips, rows being the truth.
        let confusion = read_csv(&out.join(format!("confusion_{name}.csv")));
        let labels = strings(&confusion, "truth \\ predicted");
        let mut total = 0;
        for (row, t) in labels.iter().enumerate() {
            for p in &labels {
                let count = confusion
                    .column(p)
                    .unwrap()
                    .i64()
                    .unwrap()
                    .get(row)
                    .unwrap();
                let expected = mine
                    .iter()
                    .filter(|&&i| truth[i] == *t && predicted[i] == *p)
                    .count() as i64;
                assert_eq!(count, expected, "{name}: truth {t}, predicted {p}");
                total += count;
            }
        }
        assert_eq!(total, 6);

        // Accuracy, macro-F1 and ECE from predictions.csv alone.
        let correct = mine.iter().filter(|&&i| truth[i] == predicted[i]).count();
        let accuracy = correct as f64 / 6.0;
        assert!((summary_value(&summary, name, "accuracy") - accuracy).abs() < TOL);
        let mut f1s = Vec::new();
        for label in &labels {
            let tp = mine
                .iter()
                .filter(|&&i| truth[i] == *label && predicted[i] == *label)
                .count() as f64;
            let support = mine.iter().filter(|&&i| truth[i] == *label).count() as f64;
            let guessed = mine.iter().filter(|&&i| predicted[i] == *label).count() as f64;
            if support + guessed == 0.0 {
                continue;
            }
            let p = if guessed > 0.0 { tp / guessed } else { 0.0 };
            let r = if support > 0.0 { tp / support } else { 0.0 };
            f1s.push(if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            });
        }
        let macro_f1 = f1s.iter().sum::<f64>() / f1s.len() as f64;
        assert!((summary_value(&summary, name, "macro_f1") - macro_f1).abs() < TOL);
        let mut bins = [(0.0, 0.0, 0.0); 10];
        for &i in &mine {
            let b = ((confidence[i] * 10.0).floor() as usize).min(9);
            bins[b].0 += 1.0;
            bins[b].1 += f64::from(u8::from(truth[i] == predicted[i]));
            bins[b].2 += confidence[i];
        }
        let ece: f64 = bins
            .iter()
            .filter(|b| b.0 > 0.0)
            .map(|(n, ok, conf)| n / 6.0 * (ok / n - conf / n).abs())
            .sum();
        assert!((summary_value(&summary, name, "ece_10_bins") - ece).abs() < TOL);
    }
    // Side by side: the second model's difference column is its value minus the first's.
    let diff = summary_value(&summary, "zcr-2000 − zcr-500", "accuracy");
    let a = summary_value(&summary, "zcr-500", "accuracy");
    let b = summary_value(&summary, "zcr-2000", "accuracy");
    assert!((diff - (b - a)).abs() < TOL);

    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("| metric | zcr-500 | zcr-2000 | zcr-2000 − zcr-500 |"),
        "{md}"
    );
    assert!(md.contains("![zcr-500 confusion matrix](confusion_zcr-500.png)"));

    // A second run refuses to replace the report and leaves it as it was.
    let before = std::fs::read(out.join("summary.md")).unwrap();
    assert!(report::write(&out, &rendered.files, Overwrite::Refuse).is_err());
    assert_eq!(std::fs::read(out.join("summary.md")).unwrap(), before);
}

#[test]
fn same_corpus_same_report_bytes() {
    let strip_latency = |rendered: report::RenderedReport| {
        // Latency is wall time; everything else must be bit-identical.
        rendered
            .files
            .into_iter()
            .filter(|f| {
                f.name != "summary.csv" && f.name != "predictions.csv" && f.name != "summary.md"
            })
            .collect::<Vec<_>>()
    };
    let (run, a) = run_on_fixture(Split::Test);
    let (_, b) = run_on_fixture(Split::Test);
    let first = strip_latency(report::render(&run, &a).unwrap());
    let second = strip_latency(report::render(&run, &b).unwrap());
    assert_eq!(first, second);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.metrics.confusion, y.metrics.confusion);
        assert_eq!(x.metrics.accuracy, y.metrics.accuracy);
        assert_eq!(x.metrics.ece, y.metrics.ece);
        let px: Vec<_> = x.predictions.iter().map(|p| &p.probabilities).collect();
        let py: Vec<_> = y.predictions.iter().map(|p| &p.probabilities).collect();
        assert_eq!(px, py);
    }
}
