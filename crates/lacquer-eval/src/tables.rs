//! The results as polars DataFrames: one set of tables feeds the terminal,
//! the CSV files and the Markdown summary, so they cannot disagree.
//!
//! Every table is built twice from the same numbers: at full precision for
//! files (so `predictions.csv` recomputes the metrics exactly) and rounded
//! for people. Rows and columns come in label order or manifest-independent
//! clip-id order, never in hash order.

use crate::EvalError;
use crate::metrics::{ECE_BINS, Metrics};
use crate::run::ModelResult;
use polars::prelude::{AnyValue, Column, CsvWriter, DataFrame, SerWriter};

/// Full precision (files) or rounded (terminal, Markdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Full,
    Display,
}

impl Precision {
    /// Rounds scores (0…1) to 3 decimals for display.
    fn score(self, v: f64) -> f64 {
        self.round(v, 3)
    }

    /// Rounds milliseconds to 2 decimals for display.
    fn ms(self, v: f64) -> f64 {
        self.round(v, 2)
    }

    fn round(self, v: f64, decimals: i32) -> f64 {
        match self {
            Self::Full => v,
            Self::Display => {
                let scale = 10_f64.powi(decimals);
                (v * scale).round() / scale
            }
        }
    }
}

/// Name of the column holding the truth labels in a confusion table.
pub const CONFUSION_TRUTH_COLUMN: &str = "truth \\ predicted";

/// Metric names of the summary table, in row order.
pub const SUMMARY_METRICS: [&str; 7] = [
    "clips",
    "accuracy",
    "macro_f1",
    "ece_10_bins",
    "latency_mean_ms",
    "latency_median_ms",
    "clips_with_unknown_label",
];

fn frame(table: &str, columns: Vec<Column>) -> Result<DataFrame, EvalError> {
    DataFrame::new_infer_height(columns).map_err(|source| EvalError::Table {
        table: table.into(),
        source,
    })
}

fn summary_values(m: &Metrics, precision: Precision) -> [f64; 7] {
    let unknown: u64 = m.unknown_labels.iter().map(|u| u.clips).sum();
    [
        m.clips as f64,
        precision.score(m.accuracy),
        precision.score(m.macro_f1),
        precision.score(m.ece),
        precision.ms(m.latency_mean_ms),
        precision.ms(m.latency_median_ms),
        unknown as f64,
    ]
}

/// Header of a difference column: later model minus the first.
pub fn difference_column(model: &str, baseline: &str) -> String {
    format!("{model} − {baseline}")
}

/// Metrics as rows, models side by side, and for each later model its
/// difference from the first.
pub fn summary(results: &[ModelResult], precision: Precision) -> Result<DataFrame, EvalError> {
    let mut columns = vec![Column::new("metric".into(), SUMMARY_METRICS.to_vec())];
    let values: Vec<[f64; 7]> = results
        .iter()
        .map(|r| summary_values(&r.metrics, precision))
        .collect();
    for (r, v) in results.iter().zip(&values) {
        columns.push(Column::new(r.name.as_str().into(), v.to_vec()));
    }
    if let Some((base, base_values)) = results.first().zip(values.first()) {
        for (r, v) in results.iter().zip(&values).skip(1) {
            let diff: Vec<f64> = v
                .iter()
                .zip(base_values)
                .enumerate()
                .map(|(i, (a, b))| {
                    let d = a - b;
                    if (4..6).contains(&i) {
                        precision.ms(d)
                    } else {
                        precision.score(d)
                    }
                })
                .collect();
            columns.push(Column::new(
                difference_column(&r.name, &base.name).into(),
                diff,
            ));
        }
    }
    frame("summary", columns)
}

/// Per-label precision, recall and F1 of one model.
pub fn per_label(result: &ModelResult, precision: Precision) -> Result<DataFrame, EvalError> {
    let m = &result.metrics.per_label;
    let opt = |v: Option<f64>| v.map(|v| precision.score(v));
    frame(
        "per-genre",
        vec![
            Column::new(
                "genre".into(),
                m.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "support".into(),
                m.iter().map(|l| l.support).collect::<Vec<_>>(),
            ),
            Column::new(
                "predicted".into(),
                m.iter().map(|l| l.predicted).collect::<Vec<_>>(),
            ),
            Column::new(
                "precision".into(),
                m.iter().map(|l| opt(l.precision)).collect::<Vec<_>>(),
            ),
            Column::new(
                "recall".into(),
                m.iter().map(|l| opt(l.recall)).collect::<Vec<_>>(),
            ),
            Column::new(
                "f1".into(),
                m.iter().map(|l| precision.score(l.f1)).collect::<Vec<_>>(),
            ),
            Column::new(
                "known_to_model".into(),
                m.iter().map(|l| l.known_to_model).collect::<Vec<_>>(),
            ),
        ],
    )
}

/// All models' per-label tables stacked, with a `model` column first.
pub fn per_label_all(results: &[ModelResult]) -> Result<DataFrame, EvalError> {
    let mut stacked: Option<DataFrame> = None;
    for r in results {
        let mut df = per_label(r, Precision::Full)?;
        let model = Column::new("model".into(), vec![r.name.as_str(); df.height()]);
        df.insert_column(0, model)
            .map_err(|source| EvalError::Table {
                table: "per-genre".into(),
                source,
            })?;
        stacked = Some(match stacked {
            None => df,
            Some(mut acc) => {
                acc.vstack_mut(&df).map_err(|source| EvalError::Table {
                    table: "per-genre".into(),
                    source,
                })?;
                acc
            }
        });
    }
    stacked.ok_or_else(|| EvalError::InvalidPredictions {
        detail: "no models".into(),
    })
}

/// F1 per label, models side by side with differences from the first; the
/// labels are the union over models (null where a model lacks the label).
pub fn f1_comparison(
    results: &[ModelResult],
    precision: Precision,
) -> Result<DataFrame, EvalError> {
    let mut labels: Vec<&str> = results
        .iter()
        .flat_map(|r| r.metrics.per_label.iter().map(|l| l.label.as_str()))
        .collect();
    labels.sort_unstable();
    labels.dedup();
    let f1_of = |r: &ModelResult| -> Vec<Option<f64>> {
        labels
            .iter()
            .map(|label| {
                r.metrics
                    .per_label
                    .iter()
                    .find(|l| l.label == *label)
                    .map(|l| precision.score(l.f1))
            })
            .collect()
    };
    let per_model: Vec<Vec<Option<f64>>> = results.iter().map(f1_of).collect();
    let mut columns = vec![Column::new("genre".into(), labels.clone())];
    for (r, f1) in results.iter().zip(&per_model) {
        columns.push(Column::new(format!("f1 {}", r.name).into(), f1.clone()));
    }
    if let (Some(base), Some(base_f1)) = (results.first(), per_model.first()) {
        for (r, f1) in results.iter().zip(&per_model).skip(1) {
            let diff: Vec<Option<f64>> = f1
                .iter()
                .zip(base_f1)
                .map(|(a, b)| Some(precision.score((*a)? - (*b)?)))
                .collect();
            columns.push(Column::new(
                difference_column(&r.name, &base.name).into(),
                diff,
            ));
        }
    }
    frame("F1 comparison", columns)
}

/// Counts, rows = truth, columns = prediction.
pub fn confusion(result: &ModelResult) -> Result<DataFrame, EvalError> {
    let c = &result.metrics.confusion;
    let mut columns = vec![Column::new(
        CONFUSION_TRUTH_COLUMN.into(),
        c.labels.iter().map(String::as_str).collect::<Vec<_>>(),
    )];
    for (j, label) in c.labels.iter().enumerate() {
        let counts: Vec<u64> = c.counts.iter().map(|row| row[j]).collect();
        columns.push(Column::new(label.as_str().into(), counts));
    }
    frame("confusion", columns)
}

/// One row per (model, clip): the outcome and every probability (`p_<label>`
/// over the union of the models' labels; null where a model lacks the label).
pub fn predictions(results: &[ModelResult]) -> Result<DataFrame, EvalError> {
    let mut labels: Vec<&str> = results
        .iter()
        .flat_map(|r| r.labels.iter().map(String::as_str))
        .collect();
    labels.sort_unstable();
    labels.dedup();
    let mut model = Vec::new();
    let mut clip_id = Vec::new();
    let mut truth = Vec::new();
    let mut predicted = Vec::new();
    let mut confidence = Vec::new();
    let mut correct = Vec::new();
    let mut latency_ms = Vec::new();
    let mut probabilities: Vec<Vec<Option<f64>>> = vec![Vec::new(); labels.len()];
    for r in results {
        // Both lists are sorted by clip id (see metrics::score and run::evaluate).
        for (s, p) in r.metrics.scored.iter().zip(&r.predictions) {
            model.push(r.name.as_str());
            clip_id.push(s.clip_id.as_str());
            truth.push(s.truth.as_str());
            predicted.push(s.predicted.as_str());
            confidence.push(s.confidence);
            correct.push(s.correct);
            latency_ms.push(s.latency_s * 1e3);
            for (column, label) in probabilities.iter_mut().zip(&labels) {
                let value = r
                    .labels
                    .iter()
                    .position(|l| l == label)
                    .map(|i| p.probabilities[i]);
                column.push(value);
            }
        }
    }
    let mut columns = vec![
        Column::new("model".into(), model),
        Column::new("clip_id".into(), clip_id),
        Column::new("truth".into(), truth),
        Column::new("predicted".into(), predicted),
        Column::new("confidence".into(), confidence),
        Column::new("correct".into(), correct),
        Column::new("latency_ms".into(), latency_ms),
    ];
    for (label, values) in labels.iter().zip(probabilities) {
        columns.push(Column::new(format!("p_{label}").into(), values));
    }
    frame("predictions", columns)
}

/// Reliability bins of every model, stacked.
pub fn calibration(results: &[ModelResult], precision: Precision) -> Result<DataFrame, EvalError> {
    let bins = results.iter().flat_map(|r| {
        r.metrics
            .calibration
            .iter()
            .map(move |b| (r.name.as_str(), b))
    });
    let mut model = Vec::new();
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    let mut clips = Vec::new();
    let mut accuracy = Vec::new();
    let mut confidence = Vec::new();
    for (name, b) in bins {
        model.push(name);
        lower.push(precision.score(b.lower));
        upper.push(precision.score(b.upper));
        clips.push(b.clips);
        accuracy.push(b.accuracy.map(|v| precision.score(v)));
        confidence.push(b.mean_confidence.map(|v| precision.score(v)));
    }
    debug_assert_eq!(model.len(), results.len() * ECE_BINS);
    frame(
        "calibration",
        vec![
            Column::new("model".into(), model),
            Column::new("bin_lower".into(), lower),
            Column::new("bin_upper".into(), upper),
            Column::new("clips".into(), clips),
            Column::new("accuracy".into(), accuracy),
            Column::new("mean_confidence".into(), confidence),
        ],
    )
}

/// CSV bytes (header, `,`, `\n`; floats in shortest round-trip form).
pub fn to_csv(df: &DataFrame, table: &str) -> Result<Vec<u8>, EvalError> {
    let mut bytes = Vec::new();
    let mut df = df.clone();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(&mut df)
        .map_err(|source| EvalError::Table {
            table: table.into(),
            source,
        })?;
    Ok(bytes)
}

/// A GitHub-flavoured Markdown table; nulls print as an em dash.
pub fn to_markdown(df: &DataFrame) -> String {
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| escape(n.as_str()))
        .collect();
    let mut out = format!("| {} |\n", header.join(" | "));
    let align: Vec<&str> = df
        .columns()
        .iter()
        .map(|c| {
            if c.dtype().is_primitive_numeric() {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", align.join(" | ")));
    for row in 0..df.height() {
        let cells: Vec<String> = df
            .columns()
            .iter()
            .map(|c| match c.get(row) {
                Ok(AnyValue::Null) | Err(_) => "—".to_string(),
                Ok(AnyValue::String(s)) => escape(s),
                Ok(AnyValue::StringOwned(s)) => escape(s.as_str()),
                Ok(AnyValue::Float64(v)) => format!("{v}"),
                Ok(v) => v.to_string(),
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}
