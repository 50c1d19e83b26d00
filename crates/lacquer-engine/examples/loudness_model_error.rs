//! How far the loop's loudness model misses on a real file, limiter only.
//!
//! `cargo run --release -p lacquer-engine --example loudness_model_error -- FILE TARGET_LUFS...`
//!
//! Treats FILE as the pre-limiter signal (no chain), runs the loudness
//! loop at each target with the default limiter and a -1 dBTP ceiling, and
//! prints every pass: the gain, the model's prediction minus the measured
//! loudness (LU) and the limiter's deepest reduction. A pass count above
//! one means the model missed by more than the loop's aim.

use lacquer_core::chain::LimiterSettings;
use lacquer_engine::loudness_loop::fit_loudness;
use lacquer_io::{DecodeOptions, Spool, decode_file};
use std::path::PathBuf;

const CEILING_DBTP: f64 = -1.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: FILE TARGET_LUFS...")?);
    let targets: Vec<f64> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let decoded = decode_file(&path, &DecodeOptions::default())?;
    let spool: Spool = decoded.buffer.into();
    let limiter = LimiterSettings {
        enabled: true,
        ..LimiterSettings::default()
    };
    for target in targets {
        let fit = fit_loudness(&spool, target, CEILING_DBTP, &limiter, &path)?;
        let report = &fit.report;
        print!(
            "target {target:.2} LUFS, pre-limiter {:.2} LUFS:",
            report.pre_limiter_lufs
        );
        for pass in &report.passes {
            let miss = match (pass.predicted_lufs, pass.integrated_lufs) {
                (Some(p), Some(m)) => format!("{:+.3}", p - m),
                _ => "n/a".into(),
            };
            print!(
                " | gain {:+.2} dB, predicted - measured {miss} LU, reduction {:.1} dB",
                pass.gain_db, pass.limiter_max_reduction_db
            );
        }
        println!();
    }
    Ok(())
}
