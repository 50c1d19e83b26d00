//! Block-size independence and determinism of the full (busy) chain.

mod chain_support;

use chain_support::{busy_chain_settings, run_blocks};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_testkit::{Rng, music::demo_mix};

const MAX_BLOCK: usize = 4096;

#[test]
fn random_block_sizes_match_whole_buffer_processing() {
    let rate = 44_100;
    let input = demo_mix(rate, 3.0, -1.0, 23);
    let (l, r) = (input.channel(0), input.channel(1));
    let settings = busy_chain_settings();

    let mut whole = Chain::new(&settings);
    whole.prepare(rate, l.len()).unwrap();
    let (wl, wr) = run_blocks(&mut whole, l, r, &[l.len()]);

    let mut rng = Rng::new(2024);
    let sizes: Vec<usize> = (0..512).map(|_| rng.range(1, MAX_BLOCK)).collect();
    let mut blocks = Chain::new(&settings);
    blocks.prepare(rate, MAX_BLOCK).unwrap();
    let (bl, br) = run_blocks(&mut blocks, l, r, &sizes);

    assert!(
        whole.meters().limiter.unwrap().max_db > 0.0,
        "the chain is busy"
    );
    assert_eq!(wl, bl);
    assert_eq!(wr, br);
    assert_eq!(whole.meters(), blocks.meters());
}

#[test]
fn same_input_gives_bit_identical_output() {
    let rate = 48_000;
    let input = demo_mix(rate, 2.0, -1.0, 5);
    let settings = busy_chain_settings();
    let run = || {
        let mut chain = Chain::new(&settings);
        chain.prepare(rate, 1024).unwrap();
        chain.process_buffer(&input).unwrap()
    };
    let (a, meters_a) = run();
    let (b, meters_b) = run();
    assert_eq!(a, b);
    assert_eq!(meters_a, meters_b);
    // A second call on the same chain starts from a reset state.
    let mut chain = Chain::new(&settings);
    chain.prepare(rate, 1024).unwrap();
    let first = chain.process_buffer(&input).unwrap();
    let second = chain.process_buffer(&input).unwrap();
    assert_eq!(first, second);
}
