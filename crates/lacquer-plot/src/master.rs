//! The mastering report's picture: the tonal curve before and after against
//! the target, and short-term loudness over time before and after.
//!
//! The JSON report holds every number; this chart is for the person who
//! wants to see at a glance whether the master moved toward its target and
//! what the limiter did to the song's loudness contour. Curves are
//! loudness-normalised (dB relative to integrated loudness), so before and
//! after overlay on tone alone.

use crate::font::{ensure_font, text_style};
use crate::{Canvas, PlotError, Png, render_png};
use plotters::prelude::{ChartBuilder, IntoLogRange, LineSeries, PathElement};
use plotters::style::{Color, RGBColor};

/// Size of the chart.
pub const WIDTH_PX: u32 = 1000;
pub const HEIGHT_PX: u32 = 820;
/// Frequency axis, Hz (the analysis' 1/3-octave range).
pub const FREQ_RANGE_HZ: (f64, f64) = (20.0, 20_000.0);

/// One tonal curve to draw: centres (Hz), levels (dB, `None` = no energy), colour, legend.
type CurveSpec<'a> = (&'a [f64], &'a [Option<f64>], RGBColor, &'a str);

const BEFORE: RGBColor = RGBColor(150, 150, 150);
const AFTER: RGBColor = RGBColor(31, 94, 181);
const TARGET: RGBColor = RGBColor(230, 120, 20);
const INK: RGBColor = RGBColor(20, 20, 20);
const MARGIN_PX: u32 = 14;
const TITLE_PX: f64 = 20.0;
const LABEL_PX: f64 = 13.0;

/// What to draw. Levels are `None` where a band or a window has no value.
#[derive(Debug, Clone, Copy)]
pub struct MasterChart<'a> {
    /// E.g. "mix.wav → mix.master.wav".
    pub title: &'a str,
    pub centres_hz: &'a [f64],
    /// Loudness-normalised MID level per band, dB, of the mix.
    pub before_db: &'a [Option<f64>],
    /// The same for the master (same bands as the mix, or its own centres
    /// through `after_centres_hz`).
    pub after_centres_hz: &'a [f64],
    pub after_db: &'a [Option<f64>],
    /// The target curve on its own centres, when there is one.
    pub target_centres_hz: &'a [f64],
    pub target_db: &'a [Option<f64>],
    /// Spacing of the short-term series, seconds (entry `i` ends at
    /// `3 + i·hop` s).
    pub hop_seconds: f64,
    pub short_term_before_lufs: &'a [Option<f64>],
    pub short_term_after_lufs: &'a [Option<f64>],
    pub target_lufs: f64,
}

/// Draws the chart; without a system font it is drawn without text.
pub fn master_png(chart: &MasterChart<'_>) -> Result<Png, PlotError> {
    validate(chart)?;
    let text = ensure_font().is_loaded();
    let bytes = render_png(WIDTH_PX, HEIGHT_PX, |canvas| draw(canvas, chart, text))?;
    Ok(Png {
        bytes,
        width_px: WIDTH_PX,
        height_px: HEIGHT_PX,
        text_drawn: text,
    })
}

fn validate(chart: &MasterChart<'_>) -> Result<(), PlotError> {
    let bad = |detail: String| Err(PlotError::InvalidData { detail });
    if chart.centres_hz.len() != chart.before_db.len()
        || chart.after_centres_hz.len() != chart.after_db.len()
        || chart.target_centres_hz.len() != chart.target_db.len()
    {
        return bad("every curve needs one level per centre frequency".into());
    }
    if !(chart.hop_seconds.is_finite() && chart.hop_seconds > 0.0) {
        return bad(format!("hop of {} s is not positive", chart.hop_seconds));
    }
    if !chart.target_lufs.is_finite() {
        return bad("the loudness target is not a finite number".into());
    }
    Ok(())
}

/// Consecutive runs of present, finite points (a gap breaks the line).
fn segments(xs: &[f64], ys: &[Option<f64>], x_range: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for (&x, y) in xs.iter().zip(ys) {
        match y.filter(|v| v.is_finite()) {
            Some(v) if x >= x_range.0 && x <= x_range.1 => run.push((x, v)),
            _ => {
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
            }
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// A padded range covering every present value, or `fallback`.
fn value_range<'a>(
    series: impl IntoIterator<Item = &'a [Option<f64>]>,
    fallback: (f64, f64),
    pad: f64,
) -> (f64, f64) {
    let (lo, hi) = series
        .into_iter()
        .flatten()
        .filter_map(|v| v.filter(|v| v.is_finite()))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() && hi.is_finite() {
        (lo - pad, hi.max(lo + 1.0) + pad)
    } else {
        fallback
    }
}

fn draw(canvas: &Canvas<'_>, chart: &MasterChart<'_>, text: bool) -> Result<(), PlotError> {
    let (top, bottom) = canvas.split_vertically(HEIGHT_PX / 2);
    draw_tonal(&top, chart, text)?;
    draw_loudness(&bottom, chart, text)?;
    Ok(())
}

fn draw_tonal(area: &Canvas<'_>, chart: &MasterChart<'_>, text: bool) -> Result<(), PlotError> {
    let (y_lo, y_hi) = value_range(
        [chart.before_db, chart.after_db, chart.target_db],
        (-60.0, 0.0),
        3.0,
    );
    let mut builder = ChartBuilder::on(area);
    builder.margin(MARGIN_PX);
    if text {
        builder.x_label_area_size(36).y_label_area_size(56);
        if let Some(style) = text_style(TITLE_PX, INK) {
            builder.caption(
                format!("{}: tonal balance (dB re integrated loudness)", chart.title),
                style,
            );
        }
    }
    let mut ctx =
        builder.build_cartesian_2d((FREQ_RANGE_HZ.0..FREQ_RANGE_HZ.1).log_scale(), y_lo..y_hi)?;
    if let (true, Some(label)) = (text, text_style(LABEL_PX, INK)) {
        ctx.configure_mesh()
            .x_desc("frequency, Hz")
            .y_desc("dB")
            .label_style(label.clone())
            .axis_desc_style(label)
            .draw()?;
    }
    let curves: [CurveSpec<'_>; 3] = [
        (chart.target_centres_hz, chart.target_db, TARGET, "target"),
        (chart.centres_hz, chart.before_db, BEFORE, "mix"),
        (chart.after_centres_hz, chart.after_db, AFTER, "master"),
    ];
    for (xs, ys, colour, name) in curves {
        for (i, seg) in segments(xs, ys, FREQ_RANGE_HZ).into_iter().enumerate() {
            let series = ctx.draw_series(LineSeries::new(seg, colour.stroke_width(2)))?;
            if text && i == 0 {
                series.label(name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            }
        }
    }
    if let (true, Some(label)) = (text, text_style(LABEL_PX, INK)) {
        ctx.configure_series_labels()
            .label_font(label)
            .background_style(RGBColor(255, 255, 255).mix(0.8))
            .border_style(INK)
            .draw()?;
    }
    Ok(())
}

fn draw_loudness(area: &Canvas<'_>, chart: &MasterChart<'_>, text: bool) -> Result<(), PlotError> {
    let times =
        |n: usize| -> Vec<f64> { (0..n).map(|i| 3.0 + i as f64 * chart.hop_seconds).collect() };
    let before_t = times(chart.short_term_before_lufs.len());
    let after_t = times(chart.short_term_after_lufs.len());
    let t_end = before_t
        .last()
        .copied()
        .unwrap_or(3.0)
        .max(after_t.last().copied().unwrap_or(3.0))
        .max(4.0);
    let target = [Some(chart.target_lufs)];
    let (y_lo, y_hi) = value_range(
        [
            chart.short_term_before_lufs,
            chart.short_term_after_lufs,
            &target[..],
        ],
        (-40.0, 0.0),
        2.0,
    );
    let mut builder = ChartBuilder::on(area);
    builder.margin(MARGIN_PX);
    if text {
        builder.x_label_area_size(36).y_label_area_size(56);
        if let Some(style) = text_style(TITLE_PX, INK) {
            builder.caption("short-term loudness (3 s), LUFS", style);
        }
    }
    let mut ctx = builder.build_cartesian_2d(0.0..t_end, y_lo..y_hi)?;
    if let (true, Some(label)) = (text, text_style(LABEL_PX, INK)) {
        ctx.configure_mesh()
            .x_desc("time, s")
            .y_desc("LUFS")
            .label_style(label.clone())
            .axis_desc_style(label)
            .draw()?;
    }
    ctx.draw_series(LineSeries::new(
        [(0.0, chart.target_lufs), (t_end, chart.target_lufs)],
        TARGET.stroke_width(1),
    ))?;
    let runs = [
        (&before_t, chart.short_term_before_lufs, BEFORE),
        (&after_t, chart.short_term_after_lufs, AFTER),
    ];
    for (ts, ys, colour) in runs {
        for seg in segments(ts, ys, (0.0, t_end)) {
            ctx.draw_series(LineSeries::new(seg, colour.stroke_width(2)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart<'a>(
        centres: &'a [f64],
        before: &'a [Option<f64>],
        after: &'a [Option<f64>],
        st: &'a [Option<f64>],
    ) -> MasterChart<'a> {
        MasterChart {
            title: "mix.wav",
            centres_hz: centres,
            before_db: before,
            after_centres_hz: centres,
            after_db: after,
            target_centres_hz: centres,
            target_db: after,
            hop_seconds: 0.1,
            short_term_before_lufs: st,
            short_term_after_lufs: st,
            target_lufs: -14.0,
        }
    }

    #[test]
    fn gaps_split_lines_and_out_of_range_points_are_dropped() {
        let xs = [10.0, 100.0, 200.0, 400.0, 800.0];
        let ys = [Some(1.0), Some(2.0), None, Some(f64::NAN), Some(5.0)];
        let segs = segments(&xs, &ys, (20.0, 20_000.0));
        assert_eq!(segs, vec![vec![(100.0, 2.0)], vec![(800.0, 5.0)]]);
    }

    #[test]
    fn draws_a_png_of_the_stated_size_and_is_deterministic() {
        let centres = [
            31.5, 63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0,
        ];
        let before: Vec<Option<f64>> = centres
            .iter()
            .map(|c: &f64| Some(-10.0 - c.log2()))
            .collect();
        let after: Vec<Option<f64>> = centres
            .iter()
            .map(|c: &f64| Some(-12.0 - 0.8 * c.log2()))
            .collect();
        let st: Vec<Option<f64>> = (0..50).map(|i| Some(-20.0 + f64::from(i % 7))).collect();
        let c = chart(&centres, &before, &after, &st);
        let png = master_png(&c).unwrap();
        let again = master_png(&c).unwrap();
        assert_eq!(png.bytes, again.bytes);
        let img = image::load_from_memory(&png.bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (WIDTH_PX, HEIGHT_PX));
        // Something other than the white background was drawn in each half.
        let drawn = |y0: u32, y1: u32| {
            (y0..y1).any(|y| {
                (0..WIDTH_PX).any(|x| img.get_pixel(x, y).0 == [AFTER.0, AFTER.1, AFTER.2])
            })
        };
        assert!(drawn(0, HEIGHT_PX / 2), "tonal panel has the master curve");
        assert!(
            drawn(HEIGHT_PX / 2, HEIGHT_PX),
            "loudness panel has the master curve"
        );
    }

    #[test]
    fn rejects_mismatched_series() {
        let centres = [100.0, 200.0];
        let one = [Some(1.0)];
        let st = [Some(-14.0)];
        let c = chart(&centres, &one, &one, &st);
        assert!(matches!(master_png(&c), Err(PlotError::InvalidData { .. })));
    }
}
