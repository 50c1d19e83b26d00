//! The AVX2 builds of the kernels and their baseline builds give the same
//! bits, so a master does not depend on the CPU it was made on. Alone in
//! its test binary because it flips a process-wide switch.

mod chain_support;

use chain_support::{busy_chain_settings, run_blocks};
use lacquer_dsp::chain::Chain;
use lacquer_dsp::{Processor, force_baseline_kernels};
use lacquer_testkit::music::demo_mix;

#[test]
fn avx2_and_baseline_kernels_give_identical_output() {
    let rate = 44_100;
    let input = demo_mix(rate, 4.0, -1.0, 77);
    let (l, r) = (input.channel(0), input.channel(1));
    let settings = busy_chain_settings();
    let run = || {
        let mut chain = Chain::new(&settings);
        chain.prepare(rate, 4096).unwrap();
        let out = run_blocks(&mut chain, l, r, &[4096]);
        (out, chain.meters())
    };
    force_baseline_kernels(false);
    let dispatched = run();
    force_baseline_kernels(true);
    let baseline = run();
    force_baseline_kernels(false);
    assert!(
        dispatched.1.limiter.unwrap().max_db > 0.0,
        "the chain is busy"
    );
    assert!(dispatched.0 == baseline.0, "the two builds' samples differ");
    assert_eq!(dispatched.1, baseline.1);
}
