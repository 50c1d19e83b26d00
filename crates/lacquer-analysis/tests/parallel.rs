//! The parallel analysis is the serial one, bit for bit, at any thread count.

use lacquer_analysis::{analyze, analyze_parallel};
use lacquer_core::AudioBuffer;
use lacquer_testkit::music::demo_mix;
use lacquer_testkit::{Rng, pink_noise};

fn as_json(a: &lacquer_core::Analysis) -> String {
    serde_json::to_string(a).expect("analysis serialises")
}

#[test]
fn parallel_analysis_equals_serial_at_every_thread_count() {
    let mut rng = Rng::new(5);
    let noise = AudioBuffer::stereo(
        48_000,
        pink_noise(&mut rng, 48_000, 6.0, -20.0),
        pink_noise(&mut rng, 48_000, 6.0, -24.0),
    )
    .unwrap();
    for buffer in [demo_mix(44_100, 8.0, -6.0, 3), noise] {
        let serial = as_json(&analyze(&buffer).unwrap());
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let parallel = pool.install(|| analyze_parallel(&buffer).unwrap());
            assert!(
                as_json(&parallel) == serial,
                "{threads} threads: the parallel analysis differs"
            );
        }
    }
}
