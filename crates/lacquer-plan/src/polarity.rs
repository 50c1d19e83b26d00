//! Polarity: the one repair decided before anything is measured for the plan.
//!
//! When left and right are strongly anti-correlated, both overall and in the
//! lows, a channel is wired upside down: real mixes keep their low end close
//! to mono, so anti-phase lows are never a stereo choice. The mid nearly
//! cancels, so every other measurement (tone of the mid, low-end width, the
//! classifier's mono input) describes the wrong signal. The engine therefore
//! flips the channel, measures again and plans from that; the chain repeats
//! the flip as its first stage. Wide mixes with merely negative correlation
//! stay as they are, and `fix_polarity: false` keeps any mix as it is.

use crate::{decision, fmt_num};
use lacquer_core::chain::PolaritySettings;
use lacquer_core::{Analysis, Decision, PlanOptions, PlanStage};

/// Correlation at or under which (overall and below 150 Hz) a channel is
/// taken to be inverted. −0.5 is where the mono sum of equal-level channels
/// has lost 6 dB: no deliberate mix sits there in its lows.
pub const INVERTED_POLARITY_CORRELATION: f64 = -0.5;

/// A polarity flip decided from the mix as it came in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolarityFix {
    pub settings: PolaritySettings,
    /// The measurements that called for it (quoted in the reason).
    pub mix_correlation: f64,
    pub mix_correlation_below_150hz: Option<f64>,
    pub mix_mono_sum_loss_db: Option<f64>,
}

/// Whether the measured mix has an inverted channel, and the flip that
/// repairs it (the right channel, by convention: which one is "wrong" is
/// not knowable, and flipping either gives the same stereo image).
/// Always `None` when `options.fix_polarity` is off.
pub fn detect_inverted_polarity(analysis: &Analysis, options: &PlanOptions) -> Option<PolarityFix> {
    if !options.fix_polarity {
        return None;
    }
    inverted(analysis)
}

fn inverted(analysis: &Analysis) -> Option<PolarityFix> {
    if analysis.source_channels < 2 {
        return None;
    }
    let stereo = &analysis.stereo;
    let overall = stereo.correlation?;
    let lows = stereo.correlation_below_150hz;
    let anti = |c: f64| c <= INVERTED_POLARITY_CORRELATION;
    (anti(overall) && lows.is_none_or(anti)).then(|| PolarityFix {
        settings: PolaritySettings {
            invert_left: false,
            invert_right: true,
        },
        mix_correlation: overall,
        mix_correlation_below_150hz: lows,
        mix_mono_sum_loss_db: stereo.mono_sum_loss_db.map(|d| d.0),
    })
}

/// The chain's polarity settings and the decision that explains them.
/// `analysis` is what the rest of the plan is made from: the corrected mix
/// when `fix` is given, the mix as it came in otherwise.
pub(crate) fn plan(
    analysis: &Analysis,
    fix: Option<&PolarityFix>,
    options: &PlanOptions,
    decisions: &mut Vec<Decision>,
) -> PolaritySettings {
    match fix {
        Some(fix) => {
            let channel = match (fix.settings.invert_left, fix.settings.invert_right) {
                (true, true) => "both channels'",
                (true, false) => "the left channel's",
                _ => "the right channel's",
            };
            decisions.push(decision(
                PlanStage::Polarity,
                format!(
                    "invert {channel} polarity: {}; the rest of the plan is measured on the corrected mix",
                    evidence(fix)
                ),
            ));
            fix.settings
        }
        None => {
            if !options.fix_polarity
                && let Some(would) = inverted(analysis)
            {
                decisions.push(decision(
                    PlanStage::Polarity,
                    format!(
                        "polarity kept as it is (asked for), although {}",
                        evidence(&would)
                    ),
                ));
            }
            PolaritySettings::default()
        }
    }
}

fn evidence(fix: &PolarityFix) -> String {
    let mut line = format!("left and right correlate at {:.2}", fix.mix_correlation);
    if let Some(lows) = fix.mix_correlation_below_150hz {
        line.push_str(&format!(" ({lows:.2} below 150 Hz)"));
    }
    if let Some(loss) = fix.mix_mono_sum_loss_db {
        line.push_str(&format!(", so the mono sum loses {} dB", fmt_num(loss)));
    }
    line
}
