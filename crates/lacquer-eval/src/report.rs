//! The files an evaluation leaves behind: CSV tables for machines, a
//! Markdown summary and confusion-matrix PNGs for people.
//!
//! Everything is rendered in memory first; writing then refuses to replace
//! any existing file unless asked (checked for all files before the first is
//! written) and writes each file atomically, so a failed run never leaves a
//! half-written or half-updated report.

use crate::EvalError;
use crate::metrics::ECE_BINS;
use crate::run::ModelResult;
use crate::tables::{self, Precision};
use lacquer_io::{Overwrite, write_bytes_atomically};
use lacquer_plot::{ConfusionChart, confusion_png};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What was evaluated, for the Markdown and JSON headers.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub manifest: PathBuf,
    pub split: &'static str,
    pub clips: usize,
}

/// Everything `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport<'a> {
    #[serde(flatten)]
    pub run: &'a RunInfo,
    pub ece_bins: usize,
    pub models: &'a [ModelResult],
}

/// A rendered output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The rendered files plus anything the user should be told (e.g. charts
/// drawn without text for lack of a font).
#[derive(Debug, Clone)]
pub struct RenderedReport {
    pub files: Vec<ReportFile>,
    pub warnings: Vec<String>,
}

/// A model name made safe for a file name: anything but ASCII letters,
/// digits, `.`, `_` and `-` becomes `_`.
pub fn file_stem(model: &str) -> String {
    let stem: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("model{stem}")
    } else {
        stem
    }
}

/// Renders summary.csv, per_genre.csv, calibration.csv, predictions.csv,
/// confusion_<model>.csv, confusion_<model>.png and summary.md.
pub fn render(run: &RunInfo, results: &[ModelResult]) -> Result<RenderedReport, EvalError> {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>| files.push(ReportFile { name, bytes });
    add(
        "summary.csv".into(),
        tables::to_csv(&tables::summary(results, Precision::Full)?, "summary")?,
    );
    add(
        "per_genre.csv".into(),
        tables::to_csv(&tables::per_label_all(results)?, "per-genre")?,
    );
    add(
        "calibration.csv".into(),
        tables::to_csv(
            &tables::calibration(results, Precision::Full)?,
            "calibration",
        )?,
    );
    add(
        "predictions.csv".into(),
        tables::to_csv(&tables::predictions(results)?, "predictions")?,
    );
    let mut charts = Vec::new();
    for r in results {
        let stem = file_stem(&r.name);
        add(
            format!("confusion_{stem}.csv"),
            tables::to_csv(&tables::confusion(r)?, "confusion")?,
        );
        let title = format!("{}: confusion matrix (rows = truth)", r.name);
        let c = &r.metrics.confusion;
        let png_name = format!("confusion_{stem}.png");
        let png = confusion_png(&ConfusionChart {
            title: &title,
            truth_labels: &c.labels,
            predicted_labels: &c.labels,
            counts: &c.counts,
        })
        .map_err(|source| EvalError::Plot {
            name: png_name.clone(),
            source,
        })?;
        if !png.text_drawn
            && let Some(message) = lacquer_plot::ensure_font().missing_message()
            && !warnings.contains(&message)
        {
            warnings.push(message);
        }
        add(png_name.clone(), png.bytes);
        charts.push((r.name.clone(), png_name));
    }
    add(
        "summary.md".into(),
        markdown(run, results, &charts)?.into_bytes(),
    );
    Ok(RenderedReport { files, warnings })
}

/// The Markdown summary; `charts` pairs each model with its PNG's file name.
pub fn markdown(
    run: &RunInfo,
    results: &[ModelResult],
    charts: &[(String, String)],
) -> Result<String, EvalError> {
    let mut md = String::new();
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    let _ = writeln!(md, "# Genre model evaluation: {}\n", names.join(" vs "));
    let _ = writeln!(
        md,
        "Manifest `{}`, split `{}`, {} clips. Accuracy and macro-F1 count every clip; \
         ECE uses {ECE_BINS} equal-width confidence bins; latency is the wall time of one \
         classify call (features + inference) per clip. Confusion matrices: rows are the \
         true genre, columns the prediction.\n",
        run.manifest.display(),
        run.split,
        run.clips
    );
    let _ = writeln!(md, "## Summary\n");
    md.push_str(&tables::to_markdown(&tables::summary(
        results,
        Precision::Display,
    )?));
    if results.len() > 1 {
        let _ = writeln!(md, "\n## F1 per genre, side by side\n");
        md.push_str(&tables::to_markdown(&tables::f1_comparison(
            results,
            Precision::Display,
        )?));
    }
    for r in results {
        let _ = writeln!(md, "\n## {}\n", r.name);
        for u in &r.metrics.unknown_labels {
            let _ = writeln!(
                md,
                "- **{} clip(s) labelled `{}`, a genre this model does not know**: counted as errors.",
                u.clips, u.label
            );
        }
        if !r.metrics.unknown_labels.is_empty() {
            md.push('\n');
        }
        md.push_str(&tables::to_markdown(&tables::per_label(
            r,
            Precision::Display,
        )?));
        let _ = writeln!(
            md,
            "\nConfusion matrix (rows = truth, columns = prediction):\n"
        );
        md.push_str(&tables::to_markdown(&tables::confusion(r)?));
        if let Some((_, png)) = charts.iter().find(|(name, _)| *name == r.name) {
            let _ = writeln!(md, "\n![{} confusion matrix]({png})", r.name);
        }
    }
    Ok(md)
}

/// Paths among `files` that already exist in `dir`.
pub fn existing(dir: &Path, files: &[ReportFile]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|f| dir.join(&f.name))
        .filter(|p| p.exists())
        .collect()
}

/// Writes every file into `dir` (created if needed). With
/// [`Overwrite::Refuse`] nothing is written when any file already exists.
pub fn write(
    dir: &Path,
    files: &[ReportFile],
    overwrite: Overwrite,
) -> Result<Vec<PathBuf>, EvalError> {
    if overwrite == Overwrite::Refuse {
        let taken = existing(dir, files);
        if !taken.is_empty() {
            let listing: Vec<String> = taken.iter().map(|p| p.display().to_string()).collect();
            return Err(EvalError::OutputExists {
                listing: listing.join(", "),
            });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| EvalError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(files.len());
    for f in files {
        let path = dir.join(&f.name);
        write_bytes_atomically(&f.bytes, &path, overwrite).map_err(|source| match source {
            lacquer_io::IoError::OutputExists { .. } => EvalError::OutputExists {
                listing: path.display().to_string(),
            },
            source => EvalError::Write {
                path: path.clone(),
                source,
            },
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("genre-v1"), "genre-v1");
        assert_eq!(file_stem("../evil/name v2"), "model.._evil_name_v2");
        assert_eq!(file_stem(""), "model");
        assert_eq!(file_stem(".hidden"), "model.hidden");
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing_then() {
        let dir = std::env::temp_dir().join(format!("lacquer-eval-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = vec![
            ReportFile {
                name: "a.csv".into(),
                bytes: b"new a".to_vec(),
            },
            ReportFile {
                name: "b.csv".into(),
                bytes: b"new b".to_vec(),
            },
        ];
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.csv"), b"old b").unwrap();
        let err = write(&dir, &files, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, EvalError::OutputExists { .. }));
        assert!(err.to_string().contains("b.csv"));
        assert!(
            !dir.join("a.csv").exists(),
            "nothing is written when one file is taken"
        );
        assert_eq!(std::fs::read(dir.join("b.csv")).unwrap(), b"old b");
        let written = write(&dir, &files, Overwrite::Allow).unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(std::fs::read(dir.join("b.csv")).unwrap(), b"new b");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
