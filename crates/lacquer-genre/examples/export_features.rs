//! The library half of `lacquer features`, without the CLI's dependencies
//! (polars, the DSP chain): same `Manifest::export`, same bytes. Handy where
//! only this crate is built.
//!
//! cargo run --release -p lacquer-genre --example export_features -- MANIFEST OUT.npz [CACHE_DIR]

use anyhow::{Context, Result};
use lacquer_genre::features::manifest::{ExportOptions, Manifest};
use lacquer_genre::features::sha256_hex;
use std::path::PathBuf;

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let manifest = PathBuf::from(args.next().context("usage: MANIFEST OUT.npz [CACHE_DIR]")?);
    let out = PathBuf::from(args.next().context("usage: MANIFEST OUT.npz [CACHE_DIR]")?);
    let cache_dir = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").context("HOME is not set: pass CACHE_DIR")?;
            PathBuf::from(home).join(".cache/lacquer/corpus")
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let options = ExportOptions {
        cache_dir,
        splits: Vec::new(),
        max_patches: usize::MAX,
        threads,
    };
    let set = Manifest::read(&manifest, &options.cache_dir)?.export(&options)?;
    let bytes = set.to_npz()?;
    lacquer_io::write_bytes_atomically(&bytes, &out, lacquer_io::Overwrite::Allow)?;
    println!(
        "{}: {} patches from {} clips, sha256 {}",
        out.display(),
        set.len(),
        set.clip_ids.len(),
        sha256_hex(&bytes)
    );
    Ok(())
}
