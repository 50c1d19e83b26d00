//! Writes the benchmark input of `benches/master-e2e.sh`: a generated,
//! unmastered-sounding stereo mix (seeded, so every machine times the same
//! audio), 44.1 kHz, 24-bit WAV.
//!
//! `cargo run --release -p lacquer-engine --example make_bench_track -- OUT.wav [SECONDS]`

use lacquer_io::{OutputFormat, Overwrite, WavEncoding, write_file};
use lacquer_testkit::music::demo_mix;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: make_bench_track OUT.wav [SECONDS]");
        return ExitCode::from(2);
    };
    let seconds = match args.next().map(|s| s.parse::<f64>()) {
        None => 180.0,
        Some(Ok(s)) if s.is_finite() && s >= 1.0 => s,
        Some(_) => {
            eprintln!("SECONDS must be a number of at least 1");
            return ExitCode::from(2);
        }
    };
    let mix = demo_mix(44_100, seconds, -6.0, 2026);
    match write_file(
        &mix,
        &out,
        OutputFormat::Wav(WavEncoding::Pcm24),
        Overwrite::Allow,
    ) {
        Ok(()) => {
            println!("wrote {} ({seconds} s)", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
