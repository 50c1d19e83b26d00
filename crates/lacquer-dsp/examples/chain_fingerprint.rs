//! Prints a fingerprint (FNV-1a of the output bits) and the meters of a
//! busy chain over the demo mix, so a speed change can be checked to leave
//! the audio bit for bit as it was:
//! `cargo run --release -p lacquer-dsp --example chain_fingerprint`
//!
//! With `-- time N` it instead times N passes of that chain (left/right)
//! over 60 s of the demo mix and prints the fastest and the median pass:
//! the fastest is the figure least disturbed by other work on a shared
//! machine (the criterion bench `chain` gives the distribution).
//! `-- time N STAGE` times that chain with only one stage left on (`eq`,
//! `dynamic_eq`, `multiband`, `glue`, `saturation`, `stereo`, `limiter`).

use lacquer_core::ChainSettings;
use lacquer_core::chain::{DynamicEqBandSettings, SaturationBand};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_testkit::chains::busy_chain;
use lacquer_testkit::music::demo_mix;

/// The chain bench's busy chain (`lacquer_testkit::chains`) with a third
/// dynamic-EQ band (so the dynamic EQ's 3-band path is fingerprinted too),
/// its multiband in mid/side mode or not.
fn busy(mid_side: bool) -> ChainSettings {
    let mut s = busy_chain();
    s.dynamic_eq
        .bands
        .push(DynamicEqBandSettings::sub(-30.0, 3.0));
    s.multiband.mid_side = mid_side;
    s
}

/// `settings` with every stage but `stage` turned off.
fn only(mut settings: ChainSettings, stage: &str) -> ChainSettings {
    let s = &mut settings;
    let switches = [
        ("eq", &mut s.eq.enabled),
        ("dynamic_eq", &mut s.dynamic_eq.enabled),
        ("multiband", &mut s.multiband.enabled),
        ("glue", &mut s.glue.enabled),
        ("saturation", &mut s.saturation.enabled),
        ("stereo", &mut s.stereo.enabled),
        ("limiter", &mut s.limiter.enabled),
    ];
    assert!(
        switches.iter().any(|(name, _)| *name == stage),
        "unknown stage {stage:?}"
    );
    for (name, enabled) in switches {
        *enabled &= name == stage;
    }
    settings
}

fn time(passes: usize, stage: Option<&str>) {
    let rate = 44_100;
    let input = demo_mix(rate, 60.0, -1.0, 1);
    let settings = match stage {
        Some(stage) => only(busy(false), stage),
        None => busy(false),
    };
    let mut chain = Chain::new(&settings);
    chain.prepare(rate, 4096).expect("valid settings");
    let mut seconds = Vec::with_capacity(passes);
    for _ in 0..passes {
        let (mut l, mut r) = (input.channel(0).to_vec(), input.channel(1).to_vec());
        chain.reset();
        let start = std::time::Instant::now();
        for (lc, rc) in l.chunks_mut(4096).zip(r.chunks_mut(4096)) {
            chain.process(lc, rc);
        }
        seconds.push(start.elapsed().as_secs_f64());
        std::hint::black_box((&l, &r));
    }
    seconds.sort_by(f64::total_cmp);
    println!(
        "60 s busy chain{}, {passes} passes: fastest {:.1} ms, median {:.1} ms",
        stage.map(|s| format!(" ({s} only)")).unwrap_or_default(),
        seconds[0] * 1e3,
        seconds[passes / 2] * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, passes, stage @ ..] = args.as_slice()
        && mode == "time"
    {
        let passes = passes.parse().expect("a number of passes");
        time(passes, stage.first().map(String::as_str));
        return;
    }
    let rate = 44_100;
    let input = demo_mix(rate, 20.0, -1.0, 1);
    // Four multiband bands (left/right, mid/side), then three multiband
    // and three saturation bands.
    let mut three = busy(false);
    three.multiband.crossovers_hz = vec![150.0, 2500.0];
    three.multiband.bands.truncate(3);
    three.saturation.crossovers_hz = vec![200.0, 4000.0];
    three.saturation.bands = vec![
        SaturationBand { drive_db: 3.0 },
        SaturationBand { drive_db: 6.0 },
        SaturationBand { drive_db: 9.0 },
    ];
    for (name, settings) in [
        ("4 bands", busy(false)),
        ("4 bands mid/side", busy(true)),
        ("3 bands", three),
    ] {
        let mut chain = Chain::new(&settings);
        chain.prepare(rate, 4096).expect("valid settings");
        let (mut l, mut r) = (input.channel(0).to_vec(), input.channel(1).to_vec());
        let mut start = 0;
        let mut cut = 1usize;
        while start < l.len() {
            cut = (cut * 7919 + 13) % 4096 + 1;
            let end = (start + cut).min(l.len());
            chain.process(&mut l[start..end], &mut r[start..end]);
            start = end;
        }
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for v in l.iter().chain(&r) {
            for b in v.to_bits().to_le_bytes() {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        println!("{name}: output={hash:016x}");
        println!("  meters={:?}", chain.meters());
    }
}
