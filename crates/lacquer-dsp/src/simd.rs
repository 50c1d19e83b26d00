//! Runtime CPU dispatch for the throughput-bound block kernels.
//!
//! Why: the FIR kernels are written as independent lanes (one accumulator
//! per output), so compiled for AVX2 they do twice the work per
//! instruction. Why it cannot change a result: Rust never fuses a multiply
//! and an add and never reorders floating-point operations on its own, so
//! the AVX2 build of a kernel performs the very same operations on every
//! lane as the baseline build; only the speed differs between CPUs.

use std::sync::atomic::{AtomicBool, Ordering};

static BASELINE_ONLY: AtomicBool = AtomicBool::new(false);

/// Makes every kernel take its baseline build from now on (process-wide),
/// so a test on an AVX2 machine can check that both builds give the same
/// bits. Not for production use.
#[doc(hidden)]
pub fn force_baseline_kernels(on: bool) {
    BASELINE_ONLY.store(on, Ordering::Relaxed);
}

/// Whether the running CPU has AVX2 (detected once, then cached by std)
/// and the baseline has not been forced.
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !BASELINE_ONLY.load(Ordering::Relaxed) && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Calls `$avx2(args)` (a `#[target_feature(enable = "avx2")]` function)
/// where the CPU has AVX2, else `$baseline(args)`.
macro_rules! dispatch_avx2 {
    ($avx2:path, $baseline:path, ($($arg:expr),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if $crate::simd::has_avx2() {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX2, the only requirement of `$avx2`.
                let result = unsafe { $avx2($($arg),*) };
                result
            } else {
                $baseline($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $baseline($($arg),*)
        }
    }};
}

pub(crate) use dispatch_avx2;
