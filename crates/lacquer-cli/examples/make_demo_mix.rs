//! Regenerates `examples/demo-mix.flac`, the bundled example the README's
//! first command analyses: 12 s of a synthetic, unmastered-sounding stereo
//! mix (kick, bass, chords, hats; peaks at −6 dBFS), 44.1 kHz, 24-bit FLAC.
//!
//! `cargo run --release -p lacquer-cli --example make_demo_mix -- [OUT]`

use anyhow::Context;
use lacquer_io::{FlacDepth, OutputFormat, Overwrite, write_file};
use lacquer_testkit::music::demo_mix;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("examples/demo-mix.flac"));
    let mix = demo_mix(44_100, 12.0, -6.0, 2026);
    write_file(
        &mix,
        &out,
        OutputFormat::Flac(FlacDepth::Bits24),
        Overwrite::Allow,
    )
    .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
