//! Latency compensation: the chain reports the sum of its stages' delays
//! and `process_buffer` removes it, so the output lines up with the input.

mod chain_support;

use chain_support::{busy_chain_settings, ebur128_true_peak_dbtp};
use lacquer_core::{AudioBuffer, ChainSettings};
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_dsp::limiter::Limiter;
use lacquer_dsp::saturation::Saturator;
use lacquer_testkit::music::demo_mix;

/// Every stage enabled, none changing a small impulse (linear, unity gain).
fn linear_enabled_chain() -> ChainSettings {
    let mut s = ChainSettings::default();
    s.eq.enabled = true;
    s.dynamic_eq.enabled = true;
    s.glue.enabled = true;
    s.stereo.enabled = true;
    s.saturation.enabled = true;
    s.saturation.mix_percent = 0.0;
    s.limiter.enabled = true;
    s
}

#[test]
fn latency_is_the_sum_of_the_stages() {
    let rate = 44_100;
    let s = linear_enabled_chain();
    let mut chain = Chain::new(&s);
    chain.prepare(rate, 256).unwrap();
    let mut sat = Saturator::new(&s.saturation);
    sat.prepare(rate, 256).unwrap();
    let mut lim = Limiter::new(&s.limiter);
    lim.prepare(rate, 256).unwrap();
    assert!(sat.latency() > 0 && lim.latency() > 0);
    assert_eq!(chain.latency(), sat.latency() + lim.latency());
}

#[test]
fn an_impulse_comes_out_at_the_same_index() {
    for rate in [44_100, 48_000, 96_000] {
        let mut chain = Chain::new(&linear_enabled_chain());
        chain.prepare(rate, 333).unwrap();
        let n = 5000;
        let mut left = vec![0.0f32; n];
        let mut right = vec![0.0f32; n];
        left[1234] = 0.5;
        right[4321] = -0.25;
        let input = AudioBuffer::stereo(rate, left, right).unwrap();
        let (out, meters) = chain.process_buffer(&input).unwrap();
        assert!(meters.latency_frames > 0);
        assert_eq!(out.len(), n);
        assert_eq!(out, input, "rate {rate}: delay removed exactly");
    }
}

#[test]
fn busy_chain_keeps_length_and_ceiling() {
    let rate = 44_100;
    let input = demo_mix(rate, 3.0, -1.0, 9);
    let settings = busy_chain_settings();
    let mut chain = Chain::new(&settings);
    chain.prepare(rate, 2048).unwrap();
    let (out, meters) = chain.process_buffer(&input).unwrap();
    assert_eq!(out.len(), input.len());
    let tp = ebur128_true_peak_dbtp(out.channel(0), out.channel(1), rate);
    println!(
        "busy chain: latency {} frames, true peak {tp:.3} dBTP, meters {meters:?}",
        meters.latency_frames
    );
    assert!(tp <= settings.limiter.ceiling_dbtp);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut chain = Chain::new(&busy_chain_settings());
    let stereo = AudioBuffer::stereo(44_100, vec![0.0; 10], vec![0.0; 10]).unwrap();
    assert!(chain.process_buffer(&stereo).is_err(), "not prepared");
    chain.prepare(44_100, 64).unwrap();
    let mono = AudioBuffer::new(44_100, vec![vec![0.0; 10]]).unwrap();
    assert!(chain.process_buffer(&mono).is_err());
    let other_rate = AudioBuffer::stereo(48_000, vec![0.0; 10], vec![0.0; 10]).unwrap();
    assert!(chain.process_buffer(&other_rate).is_err());
    let nan = AudioBuffer::stereo(44_100, vec![0.0, f32::NAN], vec![0.0; 2]).unwrap();
    assert!(chain.process_buffer(&nan).is_err());
    let empty = AudioBuffer::stereo(44_100, vec![], vec![]).unwrap();
    assert_eq!(chain.process_buffer(&empty).unwrap().0.len(), 0);
}
