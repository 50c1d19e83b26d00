//! `lacquer features`: export the genre model's training input.
//!
//! The notebook trains on exactly what this writes, and this writes exactly
//! what inference computes (`lacquer_genre::features::log_mel_patches`), so
//! training and serving cannot disagree about the features. Clips come from
//! the corpus cache that `training-data-manifest/fetch` fills (Debian rows)
//! or straight from the user's files (local rows), so the same command serves
//! our corpus and a user's. All clips are checked before any work starts and
//! nothing is written unless every clip succeeded.

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;
use lacquer_genre::features::manifest::{ExportOptions, Manifest};
use lacquer_genre::features::{FEATURE_PARAMS, FeatureError, sha256_hex};
use lacquer_io::{Overwrite, write_bytes_atomically};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "\
The output is a NumPy .npz (np.load(path) reads it, no pickle): x [N,1,64,128] f32 \
log-mel patches, y [N] int64 label index, clip_index [N], split [N], patch_start_s [N], \
clip_ids [C], clip_source_track_ids [C], labels [L] (position = label index), \
feature_params_json and manifest_sha256.

Debian rows (a package is named) are read from <cache>/clips/<clip_id>.wav, which \
training-data-manifest/fetch creates; local rows (empty package) are decoded from their \
path (absolute or relative to the manifest's folder) and cut at start_s/duration_s.

Examples:
  training-data-manifest/fetch
  lacquer features --manifest training-data-manifest/clips.csv --out features.npz
  lacquer features --manifest mine.csv --out mine.npz --split train --split val
  lacquer features --manifest clips.csv --out f.npz --cache /data/corpus --json")]
pub struct FeaturesArgs {
    /// Clip manifest (CSV in the training-data-manifest format).
    #[arg(long, value_name = "CSV")]
    manifest: PathBuf,

    /// Where to write the features (.npz).
    #[arg(long, value_name = "NPZ")]
    out: PathBuf,

    /// Corpus cache filled by `training-data-manifest/fetch`
    /// [default: ${XDG_CACHE_HOME:-~/.cache}/lacquer/corpus].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// Only export clips of this split (repeatable; default: all).
    #[arg(long, value_name = "SPLIT", value_parser = ["train", "val", "test"])]
    split: Vec<String>,

    /// At most this many patches per clip (default: as many whole patches as
    /// fit, 3 for a 10-s clip).
    #[arg(long, value_name = "N")]
    max_patches: Option<usize>,

    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,

    /// Print a JSON summary instead of the text one.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Summary {
    out: PathBuf,
    clips: usize,
    patches: usize,
    labels: Vec<String>,
    /// split → label → patches.
    patches_per_split: BTreeMap<String, BTreeMap<String, usize>>,
    manifest_sha256: String,
    features_sha256: String,
    feature_version: u32,
}

pub fn run(args: &FeaturesArgs) -> Result<Code> {
    let max_patches = match args.max_patches {
        Some(0) => bail!("--max-patches must be at least 1"),
        Some(n) => n,
        None => usize::MAX,
    };
    if args.out.exists() && !args.force {
        bail!(
            "{}: already exists (pass --force to replace it)",
            args.out.display()
        );
    }
    lacquer_io::ensure_output_is_not_input(&args.manifest, &args.out)?;
    let cache_dir = match &args.cache {
        Some(dir) => dir.clone(),
        None => default_cache()?,
    };
    let options = ExportOptions {
        cache_dir,
        splits: args.split.clone(),
        max_patches,
        threads: rayon::current_num_threads(),
    };
    let set = match Manifest::read(&args.manifest, &options.cache_dir)
        .and_then(|manifest| manifest.export(&options))
    {
        Ok(set) => set,
        Err(e) => return report(&e),
    };
    let bytes = set.to_npz()?;
    let overwrite = if args.force {
        Overwrite::Allow
    } else {
        Overwrite::Refuse
    };
    write_bytes_atomically(&bytes, &args.out, overwrite)?;

    let mut per_split: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (split, &label) in set.split.iter().zip(&set.y) {
        let name = usize::try_from(label)
            .ok()
            .and_then(|i| set.labels.get(i))
            .cloned()
            .unwrap_or_default();
        *per_split
            .entry(split.clone())
            .or_default()
            .entry(name)
            .or_default() += 1;
    }
    let summary = Summary {
        out: args.out.clone(),
        clips: set.clip_ids.len(),
        patches: set.len(),
        labels: set.labels.clone(),
        patches_per_split: per_split,
        manifest_sha256: set.manifest_sha256.clone(),
        features_sha256: sha256_hex(&bytes),
        feature_version: FEATURE_PARAMS.version,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(Code::Success)
}

/// Prints the error with its causes; the exit code says whose fault it was.
fn report(error: &FeatureError) -> Result<Code> {
    eprintln!("error: {}", crate::exit::error_chain(error));
    if matches!(error, FeatureError::ClipsFailed { .. }) {
        eprintln!("error: nothing was written");
    }
    Ok(if error.is_invalid_input() {
        Code::InvalidInput
    } else {
        Code::Failure
    })
}

fn print_summary(s: &Summary) {
    println!(
        "{}: {} patches from {} clips (feature version {}, {} mels × {} frames)",
        s.out.display(),
        s.patches,
        s.clips,
        s.feature_version,
        FEATURE_PARAMS.n_mels,
        FEATURE_PARAMS.patch_frames
    );
    let width = s.labels.iter().map(String::len).max().unwrap_or(5).max(5);
    print!("  {:<width$}", "label");
    for split in s.patches_per_split.keys() {
        print!(" {split:>6}");
    }
    println!();
    for label in &s.labels {
        print!("  {label:<width$}");
        for counts in s.patches_per_split.values() {
            print!(" {:>6}", counts.get(label).copied().unwrap_or(0));
        }
        println!();
    }
    println!("  features sha256 {}", s.features_sha256);
    println!("  manifest sha256 {}", s.manifest_sha256);
}

fn default_cache() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => bail!("neither XDG_CACHE_HOME nor HOME is set: pass --cache DIR"),
        },
    };
    Ok(base.join("lacquer").join("corpus"))
}
