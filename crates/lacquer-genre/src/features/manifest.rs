//! Feature export from a clip manifest (the `training-data-manifest` format).
//!
//! Lives in the library, not the CLI, so that `lacquer features` and anything
//! else that exports training data run the same code: which clip file a row
//! means, how a local file is cut, and how clips become patches. Every source
//! is checked before any work starts, and the caller gets either a complete
//! set or an error naming every failed clip.

use super::{FeatureError, FeatureSet, Patches, log_mel_patches, sha256_hex};
use lacquer_core::AudioBuffer;
use lacquer_io::{DecodeOptions, decode_file};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Columns the export reads; the rest are for the fetcher and for people.
pub const NEEDED_COLUMNS: [&str; 8] = [
    "clip_id",
    "package",
    "path",
    "start_s",
    "duration_s",
    "genre",
    "source_track_id",
    "split",
];
/// Zip-archive members (`ARCHIVE!/MEMBER`) and stem sums (`A + B`), as in
/// `training-data-manifest/manifest_format.py`.
const ARCHIVE_SEP: &str = "!/";
const STEM_SEP: &str = " + ";
/// How many missing clips are named before the list is shortened.
const MISSING_LISTED: usize = 20;
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// What to export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// The corpus cache `training-data-manifest/fetch` fills (`clips/<id>.wav`).
    pub cache_dir: PathBuf,
    /// Only these splits; empty = all.
    pub splits: Vec<String>,
    /// At most this many patches per clip (`usize::MAX`: as many as fit).
    pub max_patches: usize,
    /// Worker threads (at least 1); the output does not depend on it.
    pub threads: usize,
}

/// One manifest row, resolved to where its audio is.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipRow {
    /// 1-based line of the CSV record.
    pub line: usize,
    pub clip_id: String,
    pub genre: String,
    pub source_track_id: String,
    pub split: String,
    pub source: ClipSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClipSource {
    /// A clip `fetch` already cut into the cache: the whole file is the clip.
    Cached { wav: PathBuf, duration_s: f64 },
    /// A user's files (summed when several stems), cut at start/duration.
    Local {
        files: Vec<PathBuf>,
        start_s: f64,
        duration_s: f64,
    },
}

/// A parsed manifest: labels sorted (so indices do not depend on row order or
/// on which splits are exported) and rows in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub path: PathBuf,
    pub sha256: String,
    pub labels: Vec<String>,
    pub rows: Vec<ClipRow>,
}

impl Manifest {
    /// Reads and validates a manifest; Debian rows resolve into `cache_dir`,
    /// local paths relative to the manifest's folder.
    pub fn read(path: &Path, cache_dir: &Path) -> Result<Self, FeatureError> {
        let bytes = std::fs::read(path).map_err(|source| FeatureError::ManifestRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, path, cache_dir)
    }

    pub fn parse(bytes: &[u8], path: &Path, cache_dir: &Path) -> Result<Self, FeatureError> {
        let invalid = |detail: String| FeatureError::ManifestInvalid {
            path: path.to_path_buf(),
            detail,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8: {e}")))?;
        let records = parse_csv(text).map_err(invalid)?;
        let Some(((_, header), body)) = records.split_first() else {
            return Err(invalid("empty manifest".to_owned()));
        };
        let mut column = [0usize; NEEDED_COLUMNS.len()];
        for (slot, needed) in column.iter_mut().zip(NEEDED_COLUMNS) {
            *slot = header
                .iter()
                .position(|h| h == needed)
                .ok_or_else(|| invalid(format!("missing column {needed:?}")))?;
        }
        let manifest_dir = path.parent().unwrap_or(Path::new("."));
        let mut rows = Vec::with_capacity(body.len());
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for (line, record) in body {
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            match parse_row(*line, record, &column, manifest_dir, cache_dir) {
                Ok(row) if !seen.insert(row.clip_id.clone()) => {
                    problems.push(format!("line {line}: clip_id {} repeats", row.clip_id));
                }
                Ok(row) => rows.push(row),
                Err(e) => problems.push(format!("line {line}: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(invalid(format!(
                "{} bad rows:\n  {}",
                problems.len(),
                problems.join("\n  ")
            )));
        }
        if rows.is_empty() {
            return Err(invalid("no clips".to_owned()));
        }
        let labels: BTreeSet<String> = rows.iter().map(|r| r.genre.clone()).collect();
        Ok(Self {
            path: path.to_path_buf(),
            sha256: sha256_hex(bytes),
            labels: labels.into_iter().collect(),
            rows,
        })
    }

    /// Exports every selected clip: all or nothing.
    pub fn export(&self, options: &ExportOptions) -> Result<FeatureSet, FeatureError> {
        let rows: Vec<&ClipRow> = self
            .rows
            .iter()
            .filter(|r| options.splits.is_empty() || options.splits.contains(&r.split))
            .collect();
        if rows.is_empty() {
            return Err(FeatureError::ManifestInvalid {
                path: self.path.clone(),
                detail: format!("no clips in splits {:?}", options.splits),
            });
        }
        if let Some(detail) = missing_sources(&rows, &self.path, &options.cache_dir) {
            return Err(FeatureError::MissingClips { detail });
        }
        let results = run_in_order(&rows, options.threads.max(1), |row| {
            clip_patches(row, options.max_patches.max(1))
        });
        let failures: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .collect();
        if !failures.is_empty() {
            return Err(FeatureError::ClipsFailed {
                failed: failures.len(),
                total: rows.len(),
                list: failures.join("\n  "),
            });
        }
        let mut set = FeatureSet::new(self.labels.clone(), self.sha256.clone());
        for (row, patches) in rows.iter().zip(results.into_iter().flatten()) {
            let label = self
                .labels
                .iter()
                .position(|l| *l == row.genre)
                .unwrap_or(usize::MAX);
            set.push_clip(
                &row.clip_id,
                &row.source_track_id,
                label,
                &row.split,
                &patches,
            )?;
        }
        Ok(set)
    }
}

/// Maps `f` over `items` on `threads` workers; results in input order.
fn run_in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<R>> = Vec::new();
    slots.resize_with(items.len(), || None);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(items.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut d) = done.lock() {
                        d.push((i, r));
                    }
                }
            });
        }
    });
    for (i, r) in done.into_inner().unwrap_or_default() {
        slots[i] = Some(r);
    }
    slots.into_iter().flatten().collect()
}

/// The value of column `name` in `record` ("" when the record is short).
fn field<'a>(record: &'a [String], column: &[usize; NEEDED_COLUMNS.len()], name: &str) -> &'a str {
    NEEDED_COLUMNS
        .iter()
        .position(|c| *c == name)
        .and_then(|i| record.get(column[i]))
        .map_or("", String::as_str)
}

fn parse_row(
    line: usize,
    record: &[String],
    column: &[usize; NEEDED_COLUMNS.len()],
    manifest_dir: &Path,
    cache: &Path,
) -> Result<ClipRow, String> {
    let get = |name: &str| field(record, column, name);
    let clip_id = get("clip_id").to_owned();
    let id_ok = clip_id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && clip_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !id_ok {
        return Err(format!(
            "clip_id {clip_id:?} must match [A-Za-z0-9][A-Za-z0-9._-]*"
        ));
    }
    let genre = get("genre").to_owned();
    if genre.is_empty()
        || !genre
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!("{clip_id}: genre {genre:?} must match [a-z0-9_]+"));
    }
    let split = get("split").to_owned();
    if !SPLITS.contains(&split.as_str()) {
        return Err(format!(
            "{clip_id}: split {split:?} is not train, val or test"
        ));
    }
    let seconds = |col: &str| -> Result<f64, String> {
        let text = get(col);
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(format!(
                "{clip_id}: {col} {text:?} is not a non-negative number"
            )),
        }
    };
    let start_s = seconds("start_s")?;
    let duration_s = seconds("duration_s")?;
    if duration_s <= 0.0 {
        return Err(format!("{clip_id}: duration_s must be above 0"));
    }
    let source = if get("package").is_empty() {
        let path = get("path");
        if path.is_empty() {
            return Err(format!("{clip_id}: local row without a path"));
        }
        if path.contains(ARCHIVE_SEP) {
            return Err(format!(
                "{clip_id}: archive members ({path}) are only read through the fetch cache; \
                 extract the file and point the row at it"
            ));
        }
        let files = path
            .split(STEM_SEP)
            .map(|p| {
                let p = Path::new(p.trim());
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    manifest_dir.join(p)
                }
            })
            .collect();
        ClipSource::Local {
            files,
            start_s,
            duration_s,
        }
    } else {
        ClipSource::Cached {
            wav: cache.join("clips").join(format!("{clip_id}.wav")),
            duration_s,
        }
    };
    Ok(ClipRow {
        line,
        clip_id,
        genre,
        source_track_id: get("source_track_id").to_owned(),
        split,
        source,
    })
}

/// One message naming every missing clip or file and how to get it.
fn missing_sources(rows: &[&ClipRow], manifest: &Path, cache: &Path) -> Option<String> {
    let mut cached = Vec::new();
    let mut local = Vec::new();
    for row in rows {
        match &row.source {
            ClipSource::Cached { wav, .. } if !wav.is_file() => cached.push(row.clip_id.as_str()),
            ClipSource::Local { files, .. } => {
                for f in files.iter().filter(|f| !f.is_file()) {
                    local.push(format!(
                        "line {}: {}: {}",
                        row.line,
                        row.clip_id,
                        f.display()
                    ));
                }
            }
            ClipSource::Cached { .. } => {}
        }
    }
    if cached.is_empty() && local.is_empty() {
        return None;
    }
    let mut message = String::new();
    if !cached.is_empty() {
        let listed: Vec<&str> = cached.iter().take(MISSING_LISTED).copied().collect();
        let more = cached.len().saturating_sub(MISSING_LISTED);
        let more = if more > 0 {
            format!("\n    … and {more} more")
        } else {
            String::new()
        };
        message.push_str(&format!(
            "{} of {} clips are not in the cache {}:\n    {}{more}\n  \
             fetch them with: training-data-manifest/fetch --manifest {} --cache {}",
            cached.len(),
            rows.len(),
            cache.join("clips").display(),
            listed.join("\n    "),
            manifest.display(),
            cache.display()
        ));
    }
    if !local.is_empty() {
        if !message.is_empty() {
            message.push_str("\n  ");
        }
        message.push_str(&format!(
            "{} local source files do not exist (paths are absolute or relative to the \
             manifest's folder):\n    {}",
            local.len(),
            local.join("\n    ")
        ));
    }
    Some(message)
}

fn clip_patches(row: &ClipRow, max_patches: usize) -> Result<Patches, String> {
    let clip = load_clip(row)?;
    log_mel_patches(&clip, max_patches).map_err(|e| format!("{}: features: {e}", row.clip_id))
}

/// The clip's audio exactly as the manifest row defines it.
pub fn load_clip(row: &ClipRow) -> Result<AudioBuffer, String> {
    let options = DecodeOptions::default();
    let decode = |path: &Path| {
        decode_file(path, &options)
            .map(|d| d.buffer)
            .map_err(|e| format!("{}: {}", row.clip_id, error_chain(&e)))
    };
    match &row.source {
        ClipSource::Cached { wav, duration_s } => {
            let clip = decode(wav)?;
            let expected = (duration_s * f64::from(clip.sample_rate())).round() as usize;
            if clip.len() != expected {
                return Err(format!(
                    "{}: {} has {} frames, the manifest's duration_s {duration_s} needs \
                     {expected}; the cache is stale: re-run training-data-manifest/fetch",
                    row.clip_id,
                    wav.display(),
                    clip.len()
                ));
            }
            Ok(clip)
        }
        ClipSource::Local {
            files,
            start_s,
            duration_s,
        } => {
            let mut sum: Option<AudioBuffer> = None;
            for file in files {
                let stem = decode(file)?;
                let rate = stem.sample_rate();
                let first = (start_s * f64::from(rate)).round() as usize;
                let frames = (duration_s * f64::from(rate)).round() as usize;
                if first + frames > stem.len() {
                    return Err(format!(
                        "{}: {} is {:.2} s long; the clip {start_s}+{duration_s} s runs past its end",
                        row.clip_id,
                        file.display(),
                        stem.duration_seconds()
                    ));
                }
                let cut: Vec<Vec<f32>> = stem
                    .channels()
                    .iter()
                    .map(|c| c[first..first + frames].to_vec())
                    .collect();
                sum = Some(match sum {
                    None => AudioBuffer::new(rate, cut).map_err(|e| e.to_string())?,
                    Some(mut acc) => {
                        if acc.sample_rate() != rate {
                            return Err(format!(
                                "{}: stems have different sample rates ({} and {rate} Hz)",
                                row.clip_id,
                                acc.sample_rate()
                            ));
                        }
                        for (a, c) in acc.channels_mut().into_iter().zip(&cut) {
                            for (x, y) in a.iter_mut().zip(c) {
                                *x += y;
                            }
                        }
                        acc
                    }
                });
            }
            sum.ok_or_else(|| format!("{}: no source files", row.clip_id))
        }
    }
}

/// "outer: inner: innermost", so wrapped decoder errors are not lost.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

/// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line
/// breaks. Each record comes with the line it starts on.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => in_quotes = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut record)));
                line += 1;
                record_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {record_line}: unterminated quoted field"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((record_line, record));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_commas_and_line_breaks() -> Result<(), String> {
        let text = "a,b,c\n1,\"x, \"\"y\"\"\",3\r\n4,\"two\nlines\",6\n\n7,,9";
        let records = parse_csv(text)?;
        assert_eq!(records[0], (1, vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(records[1].1, ["1", "x, \"y\"", "3"]);
        assert_eq!(
            records[2],
            (3, vec!["4".into(), "two\nlines".into(), "6".into()])
        );
        assert_eq!(records[3], (5, vec![String::new()]));
        assert_eq!(records[4], (6, vec!["7".into(), String::new(), "9".into()]));
        assert!(parse_csv("a,\"open\n").is_err());
        Ok(())
    }

    #[test]
    fn results_come_back_in_input_order_whatever_the_thread_count() {
        let items: Vec<u64> = (0..97).collect();
        for threads in [1, 2, 7] {
            let out = run_in_order(&items, threads, |x| x * x);
            assert_eq!(out, items.iter().map(|x| x * x).collect::<Vec<_>>());
        }
    }
}
