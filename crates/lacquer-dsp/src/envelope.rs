//! Level detectors shared by the compressors and the dynamic EQ.
//!
//! Why smoothing happens on the linear level, before the gain computer: the
//! gain computer then needs a logarithm only while the level is above the
//! knee, and below it the gain is exactly 1.0, so quiet passages pass
//! bit-exactly (the dynamic EQ's null test relies on that).
//!
//! Time constants are the classic one-pole ones: after `attack_ms` a step up
//! has covered 1 − 1/e ≈ 63.2 % of the way (likewise `release_ms` down).

/// One-pole coefficient for a time constant; 0 (instant) for `ms <= 0`.
pub fn one_pole_coeff(time_ms: f64, sample_rate: f64) -> f64 {
    let samples = time_ms * 1.0e-3 * sample_rate;
    if samples > 0.0 && samples.is_finite() {
        (-1.0 / samples).exp()
    } else {
        0.0
    }
}

/// Attack/release follower of a non-negative linear level: rises with the
/// attack time constant, falls with the release time constant.
#[derive(Debug, Clone, Copy)]
pub struct LevelFollower {
    attack_coeff: f64,
    release_coeff: f64,
    state: f64,
}

impl LevelFollower {
    pub fn new(attack_ms: f64, release_ms: f64, sample_rate: f64) -> Self {
        Self {
            attack_coeff: one_pole_coeff(attack_ms, sample_rate),
            release_coeff: one_pole_coeff(release_ms, sample_rate),
            state: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    pub fn value(&self) -> f64 {
        self.state
    }

    #[inline(always)]
    pub fn tick(&mut self, level: f64) -> f64 {
        let coeff = if level > self.state {
            self.attack_coeff
        } else {
            self.release_coeff
        };
        self.state = level + coeff * (self.state - level);
        self.state
    }
}

/// Running mean square (one-pole average of x²) for RMS detection.
#[derive(Debug, Clone, Copy)]
pub struct MeanSquare {
    coeff: f64,
    state: f64,
}

impl MeanSquare {
    pub fn new(window_ms: f64, sample_rate: f64) -> Self {
        Self {
            coeff: one_pole_coeff(window_ms, sample_rate),
            state: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    /// Feeds one squared sample, returns the running mean square.
    #[inline(always)]
    pub fn tick(&mut self, squared: f64) -> f64 {
        self.state = squared + self.coeff * (self.state - squared);
        self.state
    }
}

/// Per-stage gain-reduction meter (max and mean since the last reset).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReductionMeter {
    max_db: f64,
    sum_db: f64,
    frames: u64,
}

impl ReductionMeter {
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    #[inline(always)]
    pub fn record(&mut self, reduction_db: f64) {
        self.max_db = self.max_db.max(reduction_db);
        self.sum_db += reduction_db;
        self.frames += 1;
    }

    pub fn max_db(&self) -> f64 {
        self.max_db
    }

    pub fn mean_db(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.sum_db / self.frames as f64
        }
    }
}
