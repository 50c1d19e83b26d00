//! The report's PNG, drawn from the report itself so the picture can never
//! disagree with the numbers.

use crate::report::MasterReport;
use crate::tonal::TonalCurve;
use lacquer_plot::master::{MasterChart, master_png};
use lacquer_plot::{PlotError, Png};

/// Draws the before/after tonal curves against the target and the
/// short-term loudness before and after.
pub fn render_chart(report: &MasterReport) -> Result<Png, PlotError> {
    let empty = TonalCurve {
        centres_hz: Vec::new(),
        level_db: Vec::new(),
    };
    let before = TonalCurve::from_analysis(&report.input_analysis).unwrap_or_else(|| empty.clone());
    let after = TonalCurve::from_analysis(&report.output_analysis).unwrap_or_else(|| empty.clone());
    let target = report.tonal_target.clone().unwrap_or(empty);
    let series = |a: &lacquer_core::Analysis| -> Vec<Option<f64>> {
        a.loudness
            .short_term_lufs
            .iter()
            .map(|l| l.map(|l| l.0))
            .collect()
    };
    let st_before = series(&report.input_analysis);
    let st_after = series(&report.output_analysis);
    let title = report.input.path.file_name().map_or_else(
        || report.input.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    master_png(&MasterChart {
        title: &title,
        centres_hz: &before.centres_hz,
        before_db: &before.level_db,
        after_centres_hz: &after.centres_hz,
        after_db: &after.level_db,
        target_centres_hz: &target.centres_hz,
        target_db: &target.level_db,
        hop_seconds: report.output_analysis.loudness.short_term_hop_seconds,
        short_term_before_lufs: &st_before,
        short_term_after_lufs: &st_after,
        target_lufs: report.plan.target.integrated_lufs.0,
    })
}
