//! Decodes each file given on the command line and prints what the I/O
//! stage saw: a quick way to check a real-world file against the validator.
//!
//! `cargo run --release -p lacquer-io --example probe -- FILE...`

use std::path::Path;

use lacquer_io::{DecodeOptions, decode_file};

fn main() {
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        match decode_file(Path::new(&arg), &DecodeOptions::default()) {
            Ok(d) => {
                let s = &d.source;
                println!(
                    "{}: {} / {}, {} Hz, {} ch, {:?} bits, {} frames ({:.3} s), peak {:.4}",
                    arg,
                    s.container,
                    s.codec,
                    s.sample_rate,
                    s.channels,
                    s.bits_per_sample,
                    s.frames,
                    s.duration_seconds,
                    d.buffer.sample_peak()
                );
            }
            Err(e) => {
                failed = true;
                println!("{arg}: error: {e}");
            }
        }
    }
    if failed {
        std::process::exit(2);
    }
}
