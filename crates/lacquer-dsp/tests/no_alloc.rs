//! `process` never allocates: a counting global allocator watches every
//! stage this crate's chain runs, with all stages busy, over many block
//! sizes.
#![allow(unsafe_code)]

mod chain_support;

use chain_support::busy_chain_settings;
use lacquer_dsp::Processor;
use lacquer_dsp::chain::Chain;
use lacquer_testkit::{Rng, music::demo_mix};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAllocator;

thread_local! {
    /// Allocations made by this thread while counting is on (thread-local so
    /// the test harness's other threads do not interfere).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: forwards every call to the system allocator unchanged; the only
// addition is a thread-local counter that never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn count_allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(|n| n.get())
}

#[test]
fn the_counter_sees_allocations() {
    let n = count_allocations(|| {
        let v: Vec<u64> = std::hint::black_box(vec![1, 2, 3]);
        drop(v);
    });
    assert_eq!(n, 1);
}

#[test]
fn processing_the_busy_chain_does_not_allocate() {
    const MAX_BLOCK: usize = 4096;
    let rate = 44_100;
    let input = demo_mix(rate, 2.0, 0.0, 31);
    let mut left = input.channel(0).to_vec();
    let mut right = input.channel(1).to_vec();
    let mut chain = Chain::new(&busy_chain_settings());
    chain.prepare(rate, MAX_BLOCK).unwrap();
    let mut rng = Rng::new(77);
    let sizes: Vec<usize> = (0..256).map(|_| rng.range(1, MAX_BLOCK)).collect();
    let mut limited_db = 0.0;
    let allocations = count_allocations(|| {
        let mut start = 0;
        for &size in sizes.iter().cycle() {
            if start >= left.len() {
                break;
            }
            let end = (start + size).min(left.len());
            chain.process(&mut left[start..end], &mut right[start..end]);
            start = end;
        }
        limited_db = chain.meters().limiter.map_or(0.0, |m| m.max_db);
        chain.reset();
        chain.process(&mut left[..MAX_BLOCK], &mut right[..MAX_BLOCK]);
    });
    assert!(limited_db > 0.0, "the limiter worked");
    assert_eq!(allocations, 0, "allocations inside process/reset");
}

#[test]
fn per_band_saturation_does_not_allocate() {
    use lacquer_core::chain::{SaturationBand, SaturationSettings};
    use lacquer_dsp::saturation::Saturator;
    const MAX_BLOCK: usize = 4096;
    let rate = 44_100;
    let input = demo_mix(rate, 1.0, 0.0, 32);
    let mut left = input.channel(0).to_vec();
    let mut right = input.channel(1).to_vec();
    let mut sat = Saturator::new(&SaturationSettings {
        enabled: true,
        mix_percent: 60.0,
        bands: [9.0, 3.0, 0.0, 6.0]
            .map(|drive_db| SaturationBand { drive_db })
            .to_vec(),
        crossovers_hz: vec![150.0, 1_500.0, 6_000.0],
        ..SaturationSettings::default()
    });
    sat.prepare(rate, MAX_BLOCK).unwrap();
    let mut rng = Rng::new(78);
    let sizes: Vec<usize> = (0..64).map(|_| rng.range(1, MAX_BLOCK)).collect();
    let allocations = count_allocations(|| {
        let mut start = 0;
        for &size in sizes.iter().cycle() {
            if start >= left.len() {
                break;
            }
            let end = (start + size).min(left.len());
            sat.process(&mut left[start..end], &mut right[start..end]);
            start = end;
        }
        sat.reset();
        sat.process(&mut left[..MAX_BLOCK], &mut right[..MAX_BLOCK]);
    });
    assert!(sat.clipped_fraction() > 0.0, "the curves worked");
    assert_eq!(allocations, 0, "allocations inside process/reset");
}
