//! Reference mode matches the reference's SIDE curve as well as its MID,
//! and only bands that were compared become curve points.

mod common;

use common::*;
use lacquer_core::chain::MatchPoint;
use lacquer_core::{Db, Plan};

/// The curve point at `f_hz`, if the curve has one.
fn point_at(curve: &[MatchPoint], f_hz: f64) -> Option<f64> {
    curve
        .iter()
        .find(|p| (p.frequency_hz - f_hz).abs() < 0.01 * f_hz)
        .map(|p| p.gain_db)
}

fn side_curve(plan: &Plan) -> &[MatchPoint] {
    plan.settings
        .eq
        .match_eq
        .side_curve
        .as_deref()
        .expect("reference mode on two stereo tracks plans a SIDE curve")
}

/// Mix and reference with the same MID curve; the reference's SIDE sits
/// `side_gap_db` further under its MID than the mix's does.
fn narrower_reference(side_gap_db: f64) -> Scenario {
    let mut mix = Mix::on_curve();
    mix.correlation_below_150hz = 0.6;
    let mut reference = Mix::on_curve();
    reference.side_below_mid_db = mix.side_below_mid_db + side_gap_db;
    reference.correlation_below_150hz = 0.98;
    let mut s = Scenario::vs_reference(&mix, &reference);
    // The test deltas copy MID into SIDE; give SIDE its own, as the
    // reference crate measures them (target − mix, loudness-normalised).
    let tonal = s.deltas.tonal.as_mut().expect("tonal deltas");
    tonal.side_db = vec![Db(-side_gap_db); tonal.side_db.len()];
    s
}

#[test]
fn a_narrower_reference_gets_a_side_cut_and_no_mono_fold() {
    const GAP_DB: f64 = 6.0;
    let s = narrower_reference(GAP_DB);
    let plan = s.plan().expect("plans");
    let eq = &plan.settings.eq.match_eq;
    assert!(eq.enabled);
    assert!(
        eq.curve.iter().all(|p| p.gain_db.abs() < 0.1),
        "MID already matches: {:?}",
        eq.curve
    );
    // Every band from 40 Hz to 16 kHz: the gap less the 0.25 dB deadband.
    let expected = -(GAP_DB - 0.25);
    for &f in CENTRES_HZ
        .iter()
        .filter(|&&f| (40.0..=16_000.0).contains(&f))
    {
        let gain = point_at(side_curve(&plan), f).expect("a SIDE point per band");
        assert!(
            (gain - expected).abs() < 1e-9,
            "SIDE at {f} Hz: {gain} dB, expected {expected}"
        );
    }
    // The SIDE curve does what mono lows and a width move would do; both on
    // top would overshoot the reference.
    let stereo = &plan.settings.stereo;
    assert!(!stereo.mono_bass, "{stereo:?}");
    assert_eq!(stereo.width_percent, 100.0);
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.reason.contains("SIDE cut 5.8 dB")),
        "{:#?}",
        plan.decisions
    );
}

#[test]
fn a_reference_with_no_side_in_the_lows_gets_the_deepest_side_cut_there() {
    let mut s = narrower_reference(0.0);
    // The reference's SIDE below 100 Hz is at the analysis floor (mono lows):
    // nothing to compare there.
    let reference = s.reference.as_mut().expect("reference");
    let tonal = reference.tonal.as_mut().expect("tonal");
    let floor = tonal.floor_db;
    let mut uncompared = Vec::new();
    for (i, (c, side)) in tonal
        .third_octave_centres_hz
        .iter()
        .zip(tonal.side_db.iter_mut())
        .enumerate()
    {
        if c.0 <= 100.0 {
            *side = floor;
            uncompared.push(i);
        }
    }
    let deltas = s.deltas.tonal.as_mut().expect("tonal deltas");
    deltas.side_compared = (0..deltas.side_db.len())
        .map(|i| !uncompared.contains(&i))
        .collect();
    for &i in &uncompared {
        deltas.side_db[i] = Db(0.0);
    }
    let plan = s.plan().expect("plans");
    let side = side_curve(&plan);
    let deepest = -plan.settings.eq.match_eq.max_cut_db;
    for f in [40.0, 63.0, 100.0] {
        assert_eq!(point_at(side, f), Some(deepest), "{f} Hz: {side:?}");
    }
    assert_eq!(point_at(side, 1_000.0), Some(0.0), "{side:?}");
}

#[test]
fn an_uncompared_band_is_not_moved_by_the_slide() {
    // The mix is 3 dB under the reference everywhere (relative to loudness,
    // so the slide takes it all) except one band that was not compared:
    // its delta reads 0, which the slide alone would turn into a cut.
    let mix = Mix::on_curve();
    let reference = Mix::on_curve();
    let mut s = Scenario::vs_reference(&mix, &reference);
    let tonal = s.deltas.tonal.as_mut().expect("tonal deltas");
    let n = tonal.mid_db.len();
    tonal.mid_db = vec![Db(3.0); n];
    tonal.side_db = vec![Db(3.0); n];
    let skipped = CENTRES_HZ
        .iter()
        .position(|&f| f == 12_500.0)
        .expect("12.5 kHz band");
    tonal.mid_db[skipped] = Db(0.0);
    tonal.side_db[skipped] = Db(0.0);
    tonal.mid_compared = (0..n).map(|i| i != skipped).collect();
    tonal.side_compared = tonal.mid_compared.clone();

    let plan = s.plan().expect("plans");
    let eq = &plan.settings.eq.match_eq;
    assert!(eq.curve.iter().all(|p| p.gain_db.abs() < 0.1), "{eq:?}");
    assert!(point_at(&eq.curve, 12_500.0).is_none(), "{eq:?}");
    // Nothing else moves, so the EQ stays off (and has no SIDE curve).
    assert!(!eq.enabled, "{eq:?}");
    let side = eq.side_curve.as_deref().unwrap_or_default();
    assert!(point_at(side, 12_500.0).is_none(), "{eq:?}");

    // Counter-check: the same band compared is cut by the slide (so the
    // flag is what kept it out above).
    let tonal = s.deltas.tonal.as_mut().expect("tonal deltas");
    tonal.mid_compared = vec![true; n];
    let plan = s.plan().expect("plans");
    let cut = point_at(&plan.settings.eq.match_eq.curve, 12_500.0).expect("point");
    assert!(cut < -2.5, "{cut}");
}
