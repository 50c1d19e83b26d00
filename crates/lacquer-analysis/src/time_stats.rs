//! Sample-domain statistics in one pass: peaks, RMS, DC, clipping, channel
//! identity and the stereo correlation figures.

use crate::bounded_ratio_db;
use crate::loudness::{
    ABSOLUTE_GATE_LUFS, BLOCKS_PER_SUBBLOCK, LRA_RELATIVE_GATE_LU, LoudnessDetail,
};
use crate::spectrum::SpectralResult;
use lacquer_core::analysis::{HealthAnalysis, StereoAnalysis};
use lacquer_core::units::Db;

/// A sample counts as full scale from here up (−0.01 dBFS; a 16-bit file
/// clipped at its largest code reads −0.0003 dBFS).
pub(crate) const CLIP_LEVEL: f32 = 0.998_849;
/// Neighbouring clipped samples differ by less than one 16-bit step: a real
/// waveform moves more than that between samples even at its crest, unless it
/// is below a few hertz.
pub(crate) const CLIP_FLAT_TOLERANCE: f32 = 1.0 / 32_768.0;
/// Shortest flat run that counts as a clip.
pub(crate) const CLIP_RUN_MIN_SAMPLES: u32 = 3;
/// Channels closer than half a 16-bit step everywhere are "the same".
pub(crate) const MONO_MAX_DIFFERENCE: f32 = 1.0 / 65_536.0;
/// A 100 ms block with correlation below this is "strongly negative".
pub(crate) const NEGATIVE_CORRELATION: f64 = -0.2;
/// Phase issue: this much of the loud material is negatively correlated…
pub(crate) const PHASE_ISSUE_SHARE: f64 = 0.1;
/// …or it stays negative this long in one stretch (100 ms blocks = 1 s).
pub(crate) const PHASE_ISSUE_RUN_BLOCKS: usize = 10;
/// Bound used for ratios that would be infinite (pure mono, pure side).
pub(crate) const RATIO_LIMIT_DB: f64 = 120.0;

#[derive(Debug, Clone)]
pub(crate) struct TimeStats {
    pub(crate) sample_peaks: Vec<f64>,
    pub(crate) max_sample_peak: f64,
    pub(crate) crest_factor_db: Option<Db>,
    pub(crate) health: HealthAnalysis,
    correlation: Option<f64>,
    mid_side_ratio_db: Option<Db>,
    mono_sum_loss_db: Option<Db>,
    negative_correlation_share: f64,
    phase_issue: bool,
}

impl TimeStats {
    pub(crate) fn stereo(&self, spectral: Option<&SpectralResult>) -> StereoAnalysis {
        StereoAnalysis {
            correlation: self.correlation,
            correlation_below_150hz: spectral.and_then(|s| s.correlation_below_150hz),
            mid_side_ratio_db: self.mid_side_ratio_db,
            ratio_limit_db: Db(RATIO_LIMIT_DB),
            width_per_band: spectral.map(|s| s.width_per_band),
            mono_sum_loss_db: self.mono_sum_loss_db,
            negative_correlation_share: self.negative_correlation_share,
            phase_issue: self.phase_issue,
        }
    }
}

/// f32 lanes for the inner sums: eight independent accumulators vectorise,
/// one f64 running sum per sample does not (each add waits for the last).
/// Chunks stay short enough that f32 keeps ~1e-5 relative accuracy, and the
/// chunk totals are added in f64.
const LANES: usize = 8;
const CHUNK_FRAMES: usize = 4_096;

/// Sums of a stretch of both channels, from one pass over it.
#[derive(Debug, Clone, Copy, Default)]
struct PairSums {
    /// ΣL², ΣR², ΣLR.
    ll: f64,
    rr: f64,
    lr: f64,
    /// ΣL, ΣR.
    sum_l: f64,
    sum_r: f64,
    /// max |L|, max |R|.
    peak_l: f32,
    peak_r: f32,
}

impl PairSums {
    fn add(&mut self, o: &Self) {
        self.ll += o.ll;
        self.rr += o.rr;
        self.lr += o.lr;
        self.sum_l += o.sum_l;
        self.sum_r += o.sum_r;
        self.peak_l = self.peak_l.max(o.peak_l);
        self.peak_r = self.peak_r.max(o.peak_r);
    }
}

/// Every sum the statistics need over a stretch (a 100 ms block), in one
/// pass: the correlation sums and each channel's sum, energy and peak.
fn pair_sums(left: &[f32], right: &[f32]) -> PairSums {
    let mut total = PairSums::default();
    for (lc, rc) in left.chunks(CHUNK_FRAMES).zip(right.chunks(CHUNK_FRAMES)) {
        let mut ll = [0.0f32; LANES];
        let mut rr = [0.0f32; LANES];
        let mut lr = [0.0f32; LANES];
        let mut sl = [0.0f32; LANES];
        let mut sr = [0.0f32; LANES];
        let mut pl = [0.0f32; LANES];
        let mut pr = [0.0f32; LANES];
        let l_lanes = lc.chunks_exact(LANES);
        let r_lanes = rc.chunks_exact(LANES);
        let (l_rest, r_rest) = (l_lanes.remainder(), r_lanes.remainder());
        for (l, r) in l_lanes.zip(r_lanes) {
            for i in 0..LANES {
                ll[i] += l[i] * l[i];
                rr[i] += r[i] * r[i];
                lr[i] += l[i] * r[i];
                sl[i] += l[i];
                sr[i] += r[i];
                pl[i] = pl[i].max(l[i].abs());
                pr[i] = pr[i].max(r[i].abs());
            }
        }
        for (i, (&l, &r)) in l_rest.iter().zip(r_rest).enumerate() {
            ll[i] += l * l;
            rr[i] += r * r;
            lr[i] += l * r;
            sl[i] += l;
            sr[i] += r;
            pl[i] = pl[i].max(l.abs());
            pr[i] = pr[i].max(r.abs());
        }
        let to64 = |a: [f32; LANES]| a.iter().map(|&v| f64::from(v)).sum::<f64>();
        let peak = |a: [f32; LANES]| a.iter().copied().fold(0.0f32, f32::max);
        total.add(&PairSums {
            ll: to64(ll),
            rr: to64(rr),
            lr: to64(lr),
            sum_l: to64(sl),
            sum_r: to64(sr),
            peak_l: peak(pl),
            peak_r: peak(pr),
        });
    }
    total
}

/// Counts flat full-scale runs of at least [`CLIP_RUN_MIN_SAMPLES`], fed
/// in pieces (a run may span pieces).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClipCounter {
    runs: u64,
    run_len: u32,
    previous: f32,
}

impl ClipCounter {
    pub(crate) fn push(&mut self, x: &[f32]) {
        let Self {
            mut runs,
            mut run_len,
            mut previous,
        } = *self;
        for chunk in x.chunks(CHUNK_FRAMES) {
            // Most chunks never reach full scale: check that in one vector
            // pass (the per-sample rule would end any run and start none).
            let chunk_peak = chunk.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            if chunk_peak < CLIP_LEVEL {
                if run_len >= CLIP_RUN_MIN_SAMPLES {
                    runs += 1;
                }
                run_len = 0;
                previous = chunk.last().copied().unwrap_or(0.0);
                continue;
            }
            for &s in chunk {
                let at_full_scale = s.abs() >= CLIP_LEVEL;
                let continues = run_len > 0 && (s - previous).abs() <= CLIP_FLAT_TOLERANCE;
                if at_full_scale && continues {
                    run_len += 1;
                } else {
                    if run_len >= CLIP_RUN_MIN_SAMPLES {
                        runs += 1;
                    }
                    run_len = u32::from(at_full_scale);
                }
                previous = s;
            }
        }
        *self = Self {
            runs,
            run_len,
            previous,
        };
    }

    pub(crate) fn finish(&self) -> u64 {
        self.runs + u64::from(self.run_len >= CLIP_RUN_MIN_SAMPLES)
    }
}

/// End frame of 100 ms sub-block `j` on the loudness grid; `None` past the
/// last whole one (what follows is the tail).
pub(crate) fn subblock_end(loud: &LoudnessDetail, j: usize) -> Option<usize> {
    let subblocks = loud.block_energy.len() / BLOCKS_PER_SUBBLOCK;
    (j < subblocks).then(|| loud.block_bounds[(j + 1) * BLOCKS_PER_SUBBLOCK])
}

/// The statistics fed one 100 ms sub-block at a time (then the tail), in
/// the order a whole-buffer pass takes them, so the sums are the same bits.
pub(crate) struct TimeStream<'a> {
    loud: &'a LoudnessDetail,
    source_channels: usize,
    gate: Option<f64>,
    frames: usize,
    totals: PairSums,
    clips: [ClipCounter; 2],
    mono_in_stereo: bool,
    active: usize,
    negative: usize,
    run: usize,
    longest_run: usize,
}

impl<'a> TimeStream<'a> {
    pub(crate) fn new(source_channels: usize, loud: &'a LoudnessDetail) -> Self {
        let gate = loud
            .summary
            .integrated
            .map(|i| (i.0 + LRA_RELATIVE_GATE_LU).max(ABSOLUTE_GATE_LUFS));
        Self {
            loud,
            source_channels,
            gate,
            frames: 0,
            totals: PairSums::default(),
            clips: [ClipCounter::default(); 2],
            mono_in_stereo: source_channels == 2,
            active: 0,
            negative: 0,
            run: 0,
            longest_run: 0,
        }
    }

    /// Sub-block `j` (its frames on the loudness grid).
    pub(crate) fn subblock(&mut self, j: usize, left: &[f32], right: &[f32]) {
        let first = j * BLOCKS_PER_SUBBLOCK;
        let loud_enough = self
            .gate
            .is_some_and(|g| self.loud.blocks_lufs(first, first + BLOCKS_PER_SUBBLOCK) > g);
        self.tally(left, right, loud_enough);
    }

    /// The frames after the last whole sub-block.
    pub(crate) fn tail(&mut self, left: &[f32], right: &[f32]) {
        self.tally(left, right, false);
    }

    fn tally(&mut self, left: &[f32], right: &[f32], judge: bool) {
        self.frames += left.len();
        self.clips[0].push(left);
        if self.source_channels == 2 {
            self.clips[1].push(right);
            self.mono_in_stereo = self.mono_in_stereo
                && left
                    .iter()
                    .zip(right)
                    .all(|(l, r)| (l - r).abs() <= MONO_MAX_DIFFERENCE);
        }
        let block = pair_sums(left, right);
        self.totals.add(&block);
        if !judge {
            return;
        }
        let (bl, br, bx) = (block.ll, block.rr, block.lr);
        self.active += 1;
        let is_negative = bl > 0.0 && br > 0.0 && bx / (bl * br).sqrt() < NEGATIVE_CORRELATION;
        if is_negative {
            self.negative += 1;
            self.run += 1;
            self.longest_run = self.longest_run.max(self.run);
        } else {
            self.run = 0;
        }
    }

    pub(crate) fn finish(self) -> TimeStats {
        let Self {
            loud,
            source_channels,
            frames,
            totals,
            clips,
            mono_in_stereo,
            active,
            negative,
            longest_run,
            ..
        } = self;
        let clipped = clips[..source_channels].iter().map(|c| c.finish()).sum();
        let frames = frames as f64;
        let subblocks = loud.block_energy.len() / BLOCKS_PER_SUBBLOCK;
        let (ll, rr, lr) = (totals.ll, totals.rr, totals.lr);
        // A mono source is measured as its one channel (the view holds it twice).
        let (sample_peaks, dc_offset, square_sum) = if source_channels == 2 {
            (
                vec![f64::from(totals.peak_l), f64::from(totals.peak_r)],
                vec![totals.sum_l / frames, totals.sum_r / frames],
                ll + rr,
            )
        } else {
            (
                vec![f64::from(totals.peak_l)],
                vec![totals.sum_l / frames],
                ll,
            )
        };
        let max_sample_peak = sample_peaks.iter().copied().fold(0.0f64, f64::max);
        let mean_square = square_sum / (frames * source_channels as f64);
        let crest_factor_db = (mean_square > 0.0)
            .then(|| Db(20.0 * max_sample_peak.log10() - 10.0 * mean_square.log10()));
        let correlation = (ll > 0.0 && rr > 0.0).then(|| (lr / (ll * rr).sqrt()).clamp(-1.0, 1.0));
        // MID = (L+R)/2, SIDE = (L-R)/2 energies from the same sums.
        let mid_energy = (ll + rr + 2.0 * lr) / 4.0;
        let side_energy = (ll + rr - 2.0 * lr) / 4.0;
        let mid_side_ratio_db =
            bounded_ratio_db(mid_energy.max(0.0), side_energy.max(0.0), RATIO_LIMIT_DB);
        let channel_mean = (ll + rr) / 2.0;
        let mono_sum_loss_db =
            bounded_ratio_db(mid_energy.max(0.0), channel_mean, RATIO_LIMIT_DB).map(|db| Db(-db.0));
        let negative_correlation_share = if active > 0 {
            negative as f64 / active as f64
        } else {
            0.0
        };
        let phase_issue = negative_correlation_share >= PHASE_ISSUE_SHARE
            || longest_run >= PHASE_ISSUE_RUN_BLOCKS;

        let silent_subblocks = (0..subblocks)
            .filter(|&j| {
                let first = j * BLOCKS_PER_SUBBLOCK;
                loud.blocks_lufs(first, first + BLOCKS_PER_SUBBLOCK) <= ABSOLUTE_GATE_LUFS
            })
            .count();
        let silence_share = if subblocks > 0 {
            silent_subblocks as f64 / subblocks as f64
        } else if max_sample_peak == 0.0 {
            1.0
        } else {
            0.0
        };

        TimeStats {
            sample_peaks,
            max_sample_peak,
            crest_factor_db,
            health: HealthAnalysis {
                clipped_runs: clipped,
                clip_run_min_samples: CLIP_RUN_MIN_SAMPLES,
                dc_offset,
                silence_share,
                mono_in_stereo,
                headroom_db: (max_sample_peak > 0.0).then(|| Db(-20.0 * max_sample_peak.log10())),
            },
            correlation,
            mid_side_ratio_db,
            mono_sum_loss_db,
            negative_correlation_share,
            phase_issue,
        }
    }
}
