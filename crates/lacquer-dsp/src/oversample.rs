//! Polyphase half-band oversampling (2x stages cascaded to 4x / 8x).
//!
//! Why half-band FIRs: every other tap is zero and the centre tap is 1/2, so
//! one polyphase branch of a 2x interpolator is a pure delay and the other is
//! a short symmetric FIR: half the work of a general FIR. Linear phase matters
//! twice here: the limiter reads peaks off the interpolated waveform (a phase
//! error would move the peaks), and the saturator blends the processed signal
//! with an integer-delayed dry copy. Later stages in a cascade only have to
//! reject images far from the audio band, so they are much shorter.
//!
//! Filters are designed at construction with a Kaiser window (deterministic,
//! no tables to trust) for [`STOPBAND_ATTENUATION_DB`] of rejection above the
//! audio band and a passband up to [`PASSBAND_FRACTION`] of the base Nyquist.

use crate::simd::dispatch_avx2;
use lacquer_core::window::kaiser;
use std::f64::consts::PI;

/// Rejection the half-band filters are designed for (images and aliases).
/// 80 dB is the aliasing bound itself: whatever would fold back is
/// held 80 dB under its own level, and a curve's harmonics above the audio
/// band are already well under the fundamental (the 10 % THD tests measure
/// aliases near −127 dBc). 100 dB cost 20 % more taps for no audible gain.
pub const STOPBAND_ATTENUATION_DB: f64 = 80.0;
/// Share of the base-rate Nyquist band kept flat (0.9 → 19.8 kHz at 44.1 kHz).
pub const PASSBAND_FRACTION: f64 = 0.9;
/// Design headroom over Kaiser's length and shape estimates.
const KAISER_HEADROOM_DB: f64 = 3.0;
/// Most 2x stages a cascade may have (8x).
pub const MAX_STAGES: usize = 3;
/// Largest oversampling factor supported.
pub const MAX_FACTOR: usize = 1 << MAX_STAGES;

/// The non-zero off-centre taps of a half-band low-pass, as the symmetric
/// polyphase branch `[h(-(2K-1)), …, h(-1), h(1), …, h(2K-1)]` (2K values);
/// the centre tap is 1/2 and all other even taps are 0.
///
/// `transition` is the full transition width as a fraction of the rate the
/// filter runs at (centred on a quarter of that rate).
pub fn design_half_band(transition: f64, attenuation_db: f64) -> Vec<f64> {
    let transition = transition.clamp(1e-3, 0.49);
    // Kaiser's formulas are estimates that fall short for short filters:
    // design with headroom, then grow the filter until the stopband is
    // verified on a dense grid.
    let design_db = attenuation_db + KAISER_HEADROOM_DB;
    let beta = if design_db > 50.0 {
        0.1102 * (design_db - 8.7)
    } else if design_db > 21.0 {
        0.5842 * (design_db - 21.0).powf(0.4) + 0.07886 * (design_db - 21.0)
    } else {
        0.0
    };
    let estimate = (design_db - 7.95) / (14.36 * transition) + 1.0;
    let mut half_taps = (((estimate + 1.0) / 4.0).ceil() as usize).max(1);
    loop {
        let branch = kaiser_half_band(half_taps, beta);
        let stop_edge = 0.25 + transition / 2.0;
        let worst = (0..=STOPBAND_CHECK_POINTS)
            .map(|i| stop_edge + (0.5 - stop_edge) * i as f64 / STOPBAND_CHECK_POINTS as f64)
            .map(|f| half_band_magnitude(&branch, f))
            .fold(0.0, f64::max);
        let limit = 10f64.powf(-attenuation_db / 20.0);
        if worst <= limit || half_taps >= MAX_HALF_TAPS {
            return branch;
        }
        half_taps += 1;
    }
}

/// Points on which [`design_half_band`] verifies the stopband.
const STOPBAND_CHECK_POINTS: usize = 1000;
/// Upper bound on the design loop (a 4095-tap half-band).
const MAX_HALF_TAPS: usize = 1024;

/// The Kaiser-windowed half-band branch for a given K (4K-1 taps in all),
/// normalised so its taps sum to exactly 1/2 (unity DC gain).
fn kaiser_half_band(half_taps: usize, beta: f64) -> Vec<f64> {
    let length = 4 * half_taps - 1;
    let centre = (length / 2) as f64;
    let mut branch = Vec::with_capacity(2 * half_taps);
    for j in 0..2 * half_taps {
        // Offsets -(2K-1), -(2K-3), …, 2K-1.
        let offset = 2.0 * (j as f64 - half_taps as f64) + 1.0;
        let sinc = (PI * offset / 2.0).sin() / (PI * offset);
        let r = offset / centre;
        let window = kaiser(r, beta);
        branch.push(sinc * window);
    }
    let sum: f64 = branch.iter().sum();
    for t in &mut branch {
        *t *= 0.5 / sum;
    }
    branch
}

/// Magnitude response of a half-band filter (given by its branch) at `f`, a
/// fraction of the rate it runs at.
pub fn half_band_magnitude(branch: &[f64], f: f64) -> f64 {
    let k = branch.len() / 2;
    let mut re = 0.5;
    for (j, &t) in branch.iter().enumerate() {
        let offset = 2.0 * (j as f64 - k as f64) + 1.0;
        re += t * (2.0 * PI * f * offset).cos();
    }
    re.abs()
}

/// Transition width (fraction of the stage's output rate) for 2x stage
/// `index` of a cascade: the first stage has to be steep, the later ones only
/// have to reject images of a signal that is already band-limited.
fn stage_transition(index: usize, passband_fraction: f64) -> f64 {
    let scale = (1usize << index) as f64;
    (scale - passband_fraction) / (2.0 * scale)
}

/// What a cascade's filters are designed for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfBandSpec {
    /// Share of the base-rate Nyquist band kept flat.
    pub passband_fraction: f64,
    /// Rejection of images / aliases, in dB.
    pub attenuation_db: f64,
}

impl HalfBandSpec {
    /// For audio that is filtered and heard: ≥ 80 dB rejection, flat to
    /// 0.9 of Nyquist.
    pub const AUDIO: Self = Self {
        passband_fraction: PASSBAND_FRACTION,
        attenuation_db: STOPBAND_ATTENUATION_DB,
    };
    /// For peak detection: a leak at −40 dB moves a peak reading by at most
    /// 0.09 dB (inside the limiter's margin), but a droop near Nyquist hides
    /// real overs: a limiter pushes down exactly the peaks its detector
    /// sees, so what survives is whatever the detector under-reads (measured
    /// on limited white noise against a long-kernel reconstruction: flat to
    /// 0.97 of Nyquist read 0.17 dB under it, 0.98 read 0.03 dB under, 0.99
    /// read 0.09 dB over; 0.98 costs 2.4x less than 0.99). −40 dB instead
    /// of −50 dB takes the first stage from 158 to 124 taps; the limiter's
    /// torture set reads no closer to the ceiling with it (worst 8x check
    /// 0.125 dB under a −1 dBTP ceiling, was 0.109 dB).
    pub const PEAK_DETECTION: Self = Self {
        passband_fraction: 0.98,
        attenuation_db: 40.0,
    };
}

/// Branch taps for stage `index`, scaled for use in f32 arithmetic.
fn stage_taps(index: usize, gain: f64, spec: HalfBandSpec) -> Vec<f32> {
    design_half_band(
        stage_transition(index, spec.passband_fraction),
        spec.attenuation_db,
    )
    .into_iter()
    .map(|t| (t * gain) as f32)
    .collect()
}

/// Dot product written so the compiler can vectorise it (independent
/// accumulators); the order of summation is fixed, so results are
/// deterministic.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let rest_a = chunks_a.remainder();
    let rest_b = chunks_b.remainder();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in rest_a.iter().zip(rest_b) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Outputs computed together by the block FIRs: enough independent
/// accumulators to hide add latency, few enough to stay in registers
/// (four vector registers: SSE2 baseline, AVX2).
const TILE: usize = 16;
#[cfg(target_arch = "x86_64")]
const TILE_AVX2: usize = 32;

/// `out[j] = Σ_i taps[i] · input[j + i]` for every `j`, vectorised across
/// outputs (each output's sum runs over the taps in a fixed order, so a
/// value never depends on which tile, block or instruction set computed
/// it). `input` must hold at least `out.len() + taps.len() - 1` samples.
#[inline]
pub(crate) fn fir_block(taps: &[f32], input: &[f32], out: &mut [f32]) {
    dispatch_avx2!(fir_block_avx2, fir_tiles::<TILE>, (taps, input, out))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fir_block_avx2(taps: &[f32], input: &[f32], out: &mut [f32]) {
    fir_tiles::<TILE_AVX2>(taps, input, out);
}

#[inline(always)]
fn fir_tiles<const TILE: usize>(taps: &[f32], input: &[f32], out: &mut [f32]) {
    let n = out.len();
    debug_assert!(input.len() + 1 >= n + taps.len());
    let mut j = 0;
    while j + TILE <= n {
        let mut acc = [0.0f32; TILE];
        for (i, &t) in taps.iter().enumerate() {
            let x: &[f32; TILE] = input[j + i..j + i + TILE]
                .try_into()
                .unwrap_or(&[0.0; TILE]);
            for k in 0..TILE {
                acc[k] += t * x[k];
            }
        }
        out[j..j + TILE].copy_from_slice(&acc);
        j += TILE;
        // A last partial tile is computed as a whole one ending at the
        // last output (recomputing a few outputs to identical values).
        if j < n && j + TILE > n && n >= TILE {
            j = n - TILE;
        }
    }
    for (o, jj) in out[j..].iter_mut().zip(j..) {
        let mut acc = 0.0f32;
        for (i, &t) in taps.iter().enumerate() {
            acc += t * input[jj + i];
        }
        *o = acc;
    }
}

/// [`fir_block`] for a symmetric filter of even length (a half-band
/// branch): pairs of inputs that share a tap are added first, halving the
/// multiplies.
#[inline]
pub(crate) fn symmetric_fir_block(taps: &[f32], input: &[f32], out: &mut [f32]) {
    dispatch_avx2!(
        symmetric_fir_block_avx2,
        symmetric_fir_tiles::<TILE>,
        (taps, input, out)
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn symmetric_fir_block_avx2(taps: &[f32], input: &[f32], out: &mut [f32]) {
    symmetric_fir_tiles::<TILE_AVX2>(taps, input, out);
}

#[inline(always)]
fn symmetric_fir_tiles<const TILE: usize>(taps: &[f32], input: &[f32], out: &mut [f32]) {
    let len = taps.len();
    let half = &taps[..len / 2];
    let n = out.len();
    debug_assert!(len.is_multiple_of(2) && input.len() + 1 >= n + len);
    let mut j = 0;
    while j + TILE <= n {
        let mut acc = [0.0f32; TILE];
        let window = &input[j..j + len - 1 + TILE];
        // Near inputs walk forward from the oldest, far ones back from the
        // newest: the pair that shares tap i.
        let near = window.windows(TILE);
        let far = window[len / 2..].windows(TILE).rev();
        for ((&t, a), b) in half.iter().zip(near).zip(far) {
            let a: &[f32; TILE] = a.try_into().unwrap_or(&[0.0; TILE]);
            let b: &[f32; TILE] = b.try_into().unwrap_or(&[0.0; TILE]);
            for k in 0..TILE {
                acc[k] += t * (a[k] + b[k]);
            }
        }
        out[j..j + TILE].copy_from_slice(&acc);
        j += TILE;
        // A last partial tile is computed as a whole one ending at the
        // last output (recomputing a few outputs to identical values).
        if j < n && j + TILE > n && n >= TILE {
            j = n - TILE;
        }
    }
    for (o, jj) in out[j..].iter_mut().zip(j..) {
        let mut acc = 0.0f32;
        for (i, &t) in half.iter().enumerate() {
            acc += t * (input[jj + i] + input[jj + len - 1 - i]);
        }
        *o = acc;
    }
}

/// Block form of one 2x interpolation stage (taps with the gain of 2 folded
/// in): for every input index `m ≥ taps.len() - 1` writes the pair
/// `[input[m - N/2], FIR(input[m-N+1..=m])]` to `out`, in order. `odd` is
/// scratch of at least the number of pairs. Returns the samples written.
#[inline(always)]
pub(crate) fn interpolate_2x_block(
    taps: &[f32],
    input: &[f32],
    odd: &mut [f32],
    out: &mut [f32],
) -> usize {
    let len = taps.len();
    let pairs = (input.len() + 1).saturating_sub(len);
    let odd = &mut odd[..pairs];
    symmetric_fir_block(taps, input, odd);
    let even = &input[len - 1 - len / 2..];
    for ((pair, &e), &o) in out[..2 * pairs]
        .chunks_exact_mut(2)
        .zip(even)
        .zip(odd.iter())
    {
        pair[0] = e;
        pair[1] = o;
    }
    2 * pairs
}

/// The branch taps (gain 2 folded in) of each 2x stage of a `factor`x
/// interpolator, first stage first; `None` unless `factor` is 2, 4 or 8.
pub(crate) fn interpolator_taps(factor: usize, spec: HalfBandSpec) -> Option<Vec<Vec<f32>>> {
    let count = stages_for(factor)?;
    Some(
        (0..count)
            .map(|i| symmetrised(stage_taps(i, 2.0, spec)))
            .collect(),
    )
}

/// Makes a branch exactly symmetric (the design is symmetric up to rounding;
/// the folded block FIRs rely on it exactly).
fn symmetrised(mut taps: Vec<f32>) -> Vec<f32> {
    let len = taps.len();
    for i in 0..len / 2 {
        taps[len - 1 - i] = taps[i];
    }
    taps
}

/// A history of the last `len` samples kept contiguous (written twice), so a
/// FIR can read it as one slice without wrapping.
#[derive(Debug, Clone)]
struct History {
    data: Vec<f32>,
    len: usize,
    pos: usize,
}

impl History {
    fn new(len: usize) -> Self {
        Self {
            data: vec![0.0; 2 * len],
            len,
            pos: 0,
        }
    }

    #[inline]
    fn push(&mut self, x: f32) {
        self.data[self.pos] = x;
        self.data[self.pos + self.len] = x;
        self.pos += 1;
        if self.pos == self.len {
            self.pos = 0;
        }
    }

    /// The last `len` samples, oldest first.
    #[inline]
    fn window(&self) -> &[f32] {
        &self.data[self.pos..self.pos + self.len]
    }

    fn clear(&mut self) {
        self.data.fill(0.0);
        self.pos = 0;
    }
}

/// One 2x interpolation stage (gain 2 folded into the taps).
#[derive(Debug, Clone)]
struct UpStage {
    taps: Vec<f32>,
    history: History,
}

impl UpStage {
    fn new(index: usize, spec: HalfBandSpec) -> Self {
        let taps = stage_taps(index, 2.0, spec);
        let history = History::new(taps.len());
        Self { taps, history }
    }

    /// Delay of this stage in its input samples.
    fn latency(&self) -> usize {
        self.taps.len() / 2
    }

    /// One input sample in, two output samples out.
    #[inline]
    fn process(&mut self, x: f32) -> [f32; 2] {
        self.history.push(x);
        let window = self.history.window();
        let even = window[self.taps.len() / 2 - 1];
        let odd = dot(window, &self.taps);
        [even, odd]
    }
}

fn stages_for(factor: usize) -> Option<usize> {
    match factor {
        2 => Some(1),
        4 => Some(2),
        8 => Some(3),
        _ => None,
    }
}

/// Interpolates one channel by 2, 4 or 8 (no decimation back): what a peak
/// detector needs.
#[derive(Debug, Clone)]
pub struct Upsampler {
    stages: Vec<UpStage>,
    factor: usize,
}

impl Upsampler {
    /// `None` unless `factor` is 2, 4 or 8.
    pub fn new(factor: usize, spec: HalfBandSpec) -> Option<Self> {
        let count = stages_for(factor)?;
        Some(Self {
            stages: (0..count).map(|i| UpStage::new(i, spec)).collect(),
            factor,
        })
    }

    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Delay of the interpolated stream in base-rate samples (may be
    /// fractional: later stages delay by whole samples of a faster rate).
    pub fn latency_frames(&self) -> f64 {
        self.stages
            .iter()
            .enumerate()
            .map(|(i, s)| s.latency() as f64 / (1usize << i) as f64)
            .sum()
    }

    /// One base-rate sample in; `factor` interpolated samples written to the
    /// front of `out` (which must hold at least `factor`).
    #[inline]
    pub fn process(&mut self, x: f32, out: &mut [f32; MAX_FACTOR]) {
        out[0] = x;
        let mut filled = 1;
        for stage in &mut self.stages {
            let src = *out;
            for (i, &v) in src[..filled].iter().enumerate() {
                let [a, b] = stage.process(v);
                out[2 * i] = a;
                out[2 * i + 1] = b;
            }
            filled *= 2;
        }
    }

    pub fn reset(&mut self) {
        for s in &mut self.stages {
            s.history.clear();
        }
    }
}

/// Base-rate frames a [`RoundTrip`] processes at once.
const ROUND_TRIP_CHUNK: usize = 256;

/// A stream with the history a FIR needs kept in front of the newest
/// chunk: `data[..history]` is the past, `data[history..]` the chunk.
#[derive(Debug, Clone)]
struct BlockHistory {
    data: Vec<f32>,
    history: usize,
}

impl BlockHistory {
    fn new(history: usize, chunk: usize) -> Self {
        Self {
            data: vec![0.0; history + chunk],
            history,
        }
    }

    /// After a chunk of `n` samples: its last `history` samples become the
    /// past of the next one.
    fn advance(&mut self, n: usize) {
        self.data.copy_within(n..n + self.history, 0);
    }

    fn clear(&mut self) {
        self.data.fill(0.0);
    }
}

/// One 2x decimation stage in block form: the even and odd input phases
/// are kept apart, so the odd branch is one symmetric block FIR.
#[derive(Debug, Clone)]
struct BlockDown {
    taps: Vec<f32>,
    even: BlockHistory,
    odd: BlockHistory,
}

impl BlockDown {
    fn new(index: usize, spec: HalfBandSpec, chunk: usize) -> Self {
        let taps = symmetrised(stage_taps(index, 1.0, spec));
        let history = taps.len() - 1;
        Self {
            even: BlockHistory::new(history, chunk),
            odd: BlockHistory::new(history, chunk),
            taps,
        }
    }

    /// Delay of this stage in its output samples.
    fn latency(&self) -> usize {
        self.taps.len() / 2 - 1
    }

    /// `input` (2n samples, pairs in order) down to `out` (n samples).
    #[inline(always)]
    fn process(&mut self, input: &[f32], out: &mut [f32]) {
        let n = out.len();
        let h = self.even.history;
        for ((pair, e), o) in input
            .chunks_exact(2)
            .zip(&mut self.even.data[h..h + n])
            .zip(&mut self.odd.data[h..h + n])
        {
            *e = pair[0];
            *o = pair[1];
        }
        symmetric_fir_block(&self.taps, &self.odd.data[..h + n], out);
        // The even phase is a pure delay through the centre tap (1/2).
        let centre = h + 1 - self.taps.len() / 2;
        for (y, &e) in out.iter_mut().zip(&self.even.data[centre..centre + n]) {
            *y += 0.5 * e;
        }
        self.even.advance(n);
        self.odd.advance(n);
    }

    fn clear(&mut self) {
        self.even.clear();
        self.odd.clear();
    }
}

/// Up by 2, 4 or 8, a memoryless function at the high rate, and back down:
/// what a saturator needs. The round trip delays by a whole number of
/// base-rate frames ([`Self::latency`]); a short delay at the high rate makes
/// up the half-samples that later stages would otherwise leave. Works on
/// chunks with every stage a block FIR, so the function sees a whole chunk
/// of high-rate samples at once; each output depends on the signal alone,
/// never on how it was cut into blocks.
#[derive(Debug, Clone)]
pub struct RoundTrip {
    up_taps: Vec<Vec<f32>>,
    /// Input of each up stage, with that stage's history.
    up_in: Vec<BlockHistory>,
    /// The top-rate stream before the pad delay, with `pad_len` of history.
    top: BlockHistory,
    down: Vec<BlockDown>,
    /// Output of each down stage but the last.
    down_out: Vec<Vec<f32>>,
    odd_scratch: Vec<f32>,
    factor: usize,
    latency: usize,
}

impl RoundTrip {
    /// `None` unless `factor` is 2, 4 or 8.
    pub fn new(factor: usize) -> Option<Self> {
        let count = stages_for(factor)?;
        let spec = HalfBandSpec::AUDIO;
        let up_taps = interpolator_taps(factor, spec)?;
        let chunk = ROUND_TRIP_CHUNK;
        let up_in = up_taps
            .iter()
            .enumerate()
            .map(|(i, t)| BlockHistory::new(t.len() - 1, chunk << i))
            .collect();
        let down: Vec<BlockDown> = (0..count)
            .map(|i| BlockDown::new(i, spec, chunk << i))
            .collect();
        // Round trip of stage i in top-rate samples: (2K_i - 1) · 2^(count-i).
        let top_rate_delay: usize = (0..count)
            .map(|i| (up_taps[i].len() / 2 + down[i].latency()) << (count - i))
            .sum();
        let pad_len = (factor - top_rate_delay % factor) % factor;
        let latency = (top_rate_delay + pad_len) / factor;
        Some(Self {
            up_in,
            top: BlockHistory::new(pad_len, chunk * factor),
            down,
            down_out: (1..count).map(|i| vec![0.0; chunk << i]).collect(),
            odd_scratch: vec![0.0; chunk * factor],
            up_taps,
            factor,
            latency,
        })
    }

    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Whole base-rate frames of delay from input to output.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Processes one base-rate sample through `shape` at the high rate
    /// (convenient, slow: use [`Self::process_block`] for audio).
    pub fn process(&mut self, x: f32, mut shape: impl FnMut(f32) -> f32) -> f32 {
        let mut one = [x];
        self.process_block(&mut one, |top| {
            for v in top {
                *v = shape(*v);
            }
        });
        one[0]
    }

    /// Replaces `samples` by their round trip; `shape` gets the high-rate
    /// samples a chunk at a time and transforms them in place.
    #[inline(always)]
    pub fn process_block(&mut self, samples: &mut [f32], mut shape: impl FnMut(&mut [f32])) {
        let count = self.up_taps.len();
        for chunk in samples.chunks_mut(ROUND_TRIP_CHUNK) {
            let n = chunk.len();
            let h = self.up_in[0].history;
            self.up_in[0].data[h..h + n].copy_from_slice(chunk);
            let mut len = n;
            for i in 0..count {
                let taps = &self.up_taps[i];
                let (this, rest) = self.up_in[i..].split_at_mut(1);
                let src = &this[0].data[..this[0].history + len];
                let dst = match rest.first_mut() {
                    Some(next) => &mut next.data[next.history..],
                    None => &mut self.top.data[self.top.history..],
                };
                len = interpolate_2x_block(taps, src, &mut self.odd_scratch, dst);
                this[0].advance(len / 2);
            }
            // The pad delay: the function reads the top-rate stream
            // `pad_len` samples late, in place (the newest `pad_len`
            // samples, unshaped, become the next chunk's history).
            shape(&mut self.top.data[..len]);
            for i in (0..count).rev() {
                let (lower, upper) = self.down_out.split_at_mut(i);
                let src: &[f32] = if i + 1 == count {
                    &self.top.data[..n << (i + 1)]
                } else {
                    &upper[0][..n << (i + 1)]
                };
                let dst: &mut [f32] = if i == 0 {
                    chunk
                } else {
                    &mut lower[i - 1][..n << i]
                };
                self.down[i].process(src, dst);
            }
            self.top.advance(len);
        }
    }

    pub fn reset(&mut self) {
        for s in &mut self.up_in {
            s.clear();
        }
        self.top.clear();
        for s in &mut self.down {
            s.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSBAND_RIPPLE_DB: f64 = 0.001;

    #[test]
    fn half_bands_meet_their_design() {
        for (index, spec) in (0..MAX_STAGES)
            .flat_map(|i| [(i, HalfBandSpec::AUDIO), (i, HalfBandSpec::PEAK_DETECTION)])
        {
            let d = stage_transition(index, spec.passband_fraction);
            let branch = design_half_band(d, spec.attenuation_db);
            let ripple_db = PASSBAND_RIPPLE_DB
                .max(20.0 * (1.0 + 10f64.powf(-spec.attenuation_db / 20.0)).log10());
            let pass_edge = 0.25 - d / 2.0;
            let stop_edge = 0.25 + d / 2.0;
            for i in 0..=200 {
                let f = pass_edge * i as f64 / 200.0;
                let db = 20.0 * half_band_magnitude(&branch, f).log10();
                assert!(db.abs() < ripple_db, "stage {index} {f}: {db} dB");
                let f = stop_edge + (0.5 - stop_edge) * i as f64 / 200.0;
                let db = 20.0 * half_band_magnitude(&branch, f).log10();
                assert!(db < -spec.attenuation_db, "stage {index} stop {f}: {db} dB");
            }
        }
    }

    #[test]
    fn round_trip_of_an_impulse_lands_on_the_reported_latency() {
        for factor in [2, 4, 8] {
            let mut rt = RoundTrip::new(factor).unwrap();
            let mut out = Vec::new();
            for n in 0..400 {
                out.push(rt.process(if n == 10 { 1.0 } else { 0.0 }, |x| x));
            }
            let peak = out.iter().enumerate().fold((0, 0.0f32), |b, (i, &v)| {
                if v.abs() > b.1 { (i, v.abs()) } else { b }
            });
            assert_eq!(peak.0, 10 + rt.latency(), "factor {factor}");
            // Symmetric about the peak: a whole-sample, linear-phase delay.
            for d in 1..20 {
                let a = out[peak.0 - d];
                let b = out[peak.0 + d];
                assert!((a - b).abs() < 1e-6, "factor {factor} asymmetric at {d}");
            }
        }
    }

    #[test]
    fn upsampled_sine_matches_the_analytic_waveform() {
        const TOL: f64 = 1e-4;
        let rate = 44_100.0;
        let freq = 15_000.0;
        for factor in [4, 8] {
            let mut up = Upsampler::new(factor, HalfBandSpec::AUDIO).unwrap();
            let lat = up.latency_frames();
            let mut buf = [0.0f32; MAX_FACTOR];
            let mut worst: f64 = 0.0;
            for n in 0..2000 {
                let x = (2.0 * PI * freq * n as f64 / rate).sin() as f32;
                up.process(x, &mut buf);
                if n > 500 {
                    for (j, &v) in buf[..factor].iter().enumerate() {
                        let t = n as f64 - lat + j as f64 / factor as f64;
                        let want = (2.0 * PI * freq * t / rate).sin();
                        worst = worst.max((f64::from(v) - want).abs());
                    }
                }
            }
            assert!(worst < TOL, "factor {factor}: error {worst}");
        }
    }
}
