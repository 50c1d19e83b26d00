//! The confusion matrix as a heat map: which genres a model mixes up is
//! quicker to see in colour than to read from a table of counts.
//!
//! Rows are the true labels, columns the predicted ones (the orientation of
//! lacquer-eval's tables). A cell's colour is its share of the row (the
//! recall of that truth label going to that prediction), so a good model
//! shows a dark diagonal whatever the class sizes; the count and the share
//! are written in the cell when a font is available.

use crate::font::{ensure_font, text_size_px, text_style};
use crate::{Canvas, PlotError, Png, render_png};
use plotters::prelude::{Rectangle, Text};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontTransform, RGBColor};

/// Side of one cell.
pub const CELL_PX: u32 = 84;
/// Rows or columns beyond this are refused (the image would be unreadable).
pub const MAX_LABELS: usize = 64;

const MARGIN_PX: u32 = 12;
const TITLE_PX: f64 = 18.0;
const LABEL_PX: f64 = 14.0;
const COUNT_PX: f64 = 17.0;
const SHARE_PX: f64 = 12.0;
const AXIS_PX: f64 = 14.0;
/// Colour of a share of 0 and of 1.
const LOW: RGBColor = RGBColor(247, 251, 255);
const HIGH: RGBColor = RGBColor(8, 48, 107);
/// Rows without any clip (a label the model knows but the corpus lacks).
pub const EMPTY_ROW: RGBColor = RGBColor(225, 225, 225);
const GRID: RGBColor = RGBColor(160, 160, 160);
const INK: RGBColor = RGBColor(20, 20, 20);
const INK_ON_DARK: RGBColor = RGBColor(255, 255, 255);

/// What to draw.
#[derive(Debug, Clone, Copy)]
pub struct ConfusionChart<'a> {
    /// E.g. "genre-v1: confusion matrix".
    pub title: &'a str,
    /// Row labels (truth).
    pub truth_labels: &'a [String],
    /// Column labels (prediction).
    pub predicted_labels: &'a [String],
    /// `counts[truth][predicted]`.
    pub counts: &'a [Vec<u64>],
}

/// The colour of a cell holding `share` (0…1) of its row; values outside are
/// clamped, NaN is drawn as 0.
pub fn share_colour(share: f64) -> RGBColor {
    let t = if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    };
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(LOW.0, HIGH.0), mix(LOW.1, HIGH.1), mix(LOW.2, HIGH.2))
}

/// Draws the chart with its labels when a font is available (see
/// [`crate::font`]), without them otherwise; [`Png::text_drawn`] says which.
pub fn confusion_png(chart: &ConfusionChart<'_>) -> Result<Png, PlotError> {
    render(chart, ensure_font().is_loaded())
}

/// Draws only the cells and grid, no text.
pub fn confusion_png_without_text(chart: &ConfusionChart<'_>) -> Result<Png, PlotError> {
    render(chart, false)
}

/// Where things go, in pixels.
#[derive(Debug, Clone, Copy)]
struct Layout {
    grid_left: u32,
    grid_top: u32,
    width: u32,
    height: u32,
}

impl Layout {
    fn new(chart: &ConfusionChart<'_>, text: bool) -> Self {
        let columns = chart.predicted_labels.len() as u32;
        let rows = chart.truth_labels.len() as u32;
        let (grid_left, grid_top) = if text {
            let widest = |labels: &[String]| {
                labels
                    .iter()
                    .filter_map(|l| text_size_px(l, LABEL_PX).map(|(w, _)| w))
                    .max()
                    .unwrap_or(0)
            };
            let title_h = TITLE_PX as u32 + 2 * MARGIN_PX;
            let axis = AXIS_PX as u32 + MARGIN_PX;
            (
                MARGIN_PX + axis + widest(chart.truth_labels) + MARGIN_PX,
                title_h + axis + widest(chart.predicted_labels) + MARGIN_PX,
            )
        } else {
            (MARGIN_PX, MARGIN_PX)
        };
        Self {
            grid_left,
            grid_top,
            width: grid_left + columns * CELL_PX + MARGIN_PX,
            height: grid_top + rows * CELL_PX + MARGIN_PX,
        }
    }

    fn cell(&self, row: usize, column: usize) -> ((i32, i32), (i32, i32)) {
        let x0 = (self.grid_left + column as u32 * CELL_PX) as i32;
        let y0 = (self.grid_top + row as u32 * CELL_PX) as i32;
        ((x0, y0), (x0 + CELL_PX as i32, y0 + CELL_PX as i32))
    }
}

fn validate(chart: &ConfusionChart<'_>) -> Result<(), PlotError> {
    let rows = chart.truth_labels.len();
    let columns = chart.predicted_labels.len();
    let invalid = |detail: String| Err(PlotError::InvalidData { detail });
    if rows == 0 || columns == 0 {
        return invalid(format!(
            "{rows} truth and {columns} predicted labels; need at least one of each"
        ));
    }
    if rows > MAX_LABELS || columns > MAX_LABELS {
        return invalid(format!(
            "{rows}x{columns} labels; at most {MAX_LABELS} per side"
        ));
    }
    if chart.counts.len() != rows {
        return invalid(format!(
            "{} count rows for {rows} truth labels",
            chart.counts.len()
        ));
    }
    if let Some((i, r)) = chart
        .counts
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != columns)
    {
        return invalid(format!(
            "row {i} ({}) has {} counts for {columns} predicted labels",
            chart.truth_labels[i],
            r.len()
        ));
    }
    Ok(())
}

fn render(chart: &ConfusionChart<'_>, text: bool) -> Result<Png, PlotError> {
    validate(chart)?;
    let layout = Layout::new(chart, text);
    let bytes = render_png(layout.width, layout.height, |canvas| {
        draw_cells(canvas, chart, &layout, text)?;
        if text {
            draw_labels(canvas, chart, &layout)?;
        }
        Ok(())
    })?;
    Ok(Png {
        bytes,
        width_px: layout.width,
        height_px: layout.height,
        text_drawn: text,
    })
}

fn draw_cells(
    canvas: &Canvas<'_>,
    chart: &ConfusionChart<'_>,
    layout: &Layout,
    text: bool,
) -> Result<(), PlotError> {
    let centre = Pos::new(HPos::Center, VPos::Center);
    for (row, counts) in chart.counts.iter().enumerate() {
        let total: u64 = counts.iter().sum();
        for (column, &count) in counts.iter().enumerate() {
            let (top_left, bottom_right) = layout.cell(row, column);
            let share = if total == 0 {
                None
            } else {
                Some(count as f64 / total as f64)
            };
            let fill = share.map_or(EMPTY_ROW, share_colour);
            canvas.draw(&Rectangle::new([top_left, bottom_right], fill.filled()))?;
            canvas.draw(&Rectangle::new(
                [top_left, bottom_right],
                GRID.stroke_width(1),
            ))?;
            if !text {
                continue;
            }
            let ink = if share.is_some_and(|s| s > 0.5) {
                INK_ON_DARK
            } else {
                INK
            };
            let cx = (top_left.0 + bottom_right.0) / 2;
            let cy = (top_left.1 + bottom_right.1) / 2;
            if let Some(style) = text_style(COUNT_PX, ink) {
                canvas.draw(&Text::new(
                    count.to_string(),
                    (cx, cy - 9),
                    style.pos(centre),
                ))?;
            }
            let share_text =
                share.map_or_else(|| "no clips".to_string(), |s| format!("{:.0} %", s * 100.0));
            if let Some(style) = text_style(SHARE_PX, ink) {
                canvas.draw(&Text::new(share_text, (cx, cy + 13), style.pos(centre)))?;
            }
        }
    }
    Ok(())
}

fn draw_labels(
    canvas: &Canvas<'_>,
    chart: &ConfusionChart<'_>,
    layout: &Layout,
) -> Result<(), PlotError> {
    let (Some(title), Some(label), Some(axis)) = (
        text_style(TITLE_PX, INK),
        text_style(LABEL_PX, INK),
        text_style(AXIS_PX, RGBColor(90, 90, 90)),
    ) else {
        return Ok(());
    };
    let grid_w = (chart.predicted_labels.len() as u32 * CELL_PX) as i32;
    let grid_h = (chart.truth_labels.len() as u32 * CELL_PX) as i32;
    let left = layout.grid_left as i32;
    let top = layout.grid_top as i32;
    let m = MARGIN_PX as i32;
    canvas.draw(&Text::new(
        chart.title.to_string(),
        (m, m),
        title.pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    let title_h = TITLE_PX as i32 + 2 * m;
    canvas.draw(&Text::new(
        "predicted".to_string(),
        (left + grid_w / 2, title_h),
        axis.pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    canvas.draw(&Text::new(
        "truth".to_string(),
        (m, top + grid_h / 2),
        axis.transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    for (row, name) in chart.truth_labels.iter().enumerate() {
        let ((_, y0), (_, y1)) = layout.cell(row, 0);
        canvas.draw(&Text::new(
            name.clone(),
            (left - m, (y0 + y1) / 2),
            label.pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    for (column, name) in chart.predicted_labels.iter().enumerate() {
        let ((x0, _), (x1, _)) = layout.cell(0, column);
        // Read bottom to top, ending just above the grid.
        canvas.draw(&Text::new(
            name.clone(),
            ((x0 + x1) / 2, top - m),
            label
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn decode(png: &Png) -> image::RgbImage {
        image::load_from_memory(&png.bytes).unwrap().to_rgb8()
    }

    /// A pixel inside the cell but away from its text and grid line.
    fn cell_corner_pixel(
        img: &image::RgbImage,
        layout: &Layout,
        row: usize,
        column: usize,
    ) -> [u8; 3] {
        let ((x0, y0), _) = layout.cell(row, column);
        img.get_pixel(x0 as u32 + 4, y0 as u32 + 4).0
    }

    #[test]
    fn share_colour_runs_from_low_to_high_and_clamps() {
        assert_eq!(share_colour(0.0), LOW);
        assert_eq!(share_colour(1.0), HIGH);
        assert_eq!(share_colour(-3.0), LOW);
        assert_eq!(share_colour(7.0), HIGH);
        assert_eq!(share_colour(f64::NAN), LOW);
        let mid = share_colour(0.5);
        assert_eq!(mid, RGBColor(128, 150, 181));
    }

    #[test]
    fn cells_are_coloured_by_share_of_their_truth_row() {
        let truth = labels(&["ambient", "metal_rock", "unknown_to_model"]);
        let predicted = labels(&["ambient", "metal_rock"]);
        let counts = vec![vec![3, 1], vec![0, 4], vec![0, 0]];
        let chart = ConfusionChart {
            title: "test",
            truth_labels: &truth,
            predicted_labels: &predicted,
            counts: &counts,
        };
        for png in [
            confusion_png_without_text(&chart).unwrap(),
            confusion_png(&chart).unwrap(),
        ] {
            let img = decode(&png);
            let layout = Layout::new(&chart, png.text_drawn);
            assert_eq!(img.dimensions(), (png.width_px, png.height_px));
            assert_eq!(png.width_px, layout.grid_left + 2 * CELL_PX + MARGIN_PX);
            assert_eq!(png.height_px, layout.grid_top + 3 * CELL_PX + MARGIN_PX);
            let rgb = |c: RGBColor| [c.0, c.1, c.2];
            assert_eq!(
                cell_corner_pixel(&img, &layout, 0, 0),
                rgb(share_colour(0.75))
            );
            assert_eq!(
                cell_corner_pixel(&img, &layout, 0, 1),
                rgb(share_colour(0.25))
            );
            assert_eq!(
                cell_corner_pixel(&img, &layout, 1, 0),
                rgb(share_colour(0.0))
            );
            assert_eq!(
                cell_corner_pixel(&img, &layout, 1, 1),
                rgb(share_colour(1.0))
            );
            assert_eq!(cell_corner_pixel(&img, &layout, 2, 0), rgb(EMPTY_ROW));
        }
    }

    #[test]
    fn text_is_drawn_only_with_a_font_and_only_where_asked() {
        let names = labels(&["ambient", "electronic"]);
        let counts = vec![vec![5, 0], vec![2, 3]];
        let chart = ConfusionChart {
            title: "genre-v1",
            truth_labels: &names,
            predicted_labels: &names,
            counts: &counts,
        };
        let bare = confusion_png_without_text(&chart).unwrap();
        assert!(!bare.text_drawn);
        let img = decode(&bare);
        // Without text the margin is plain white.
        assert!((0..MARGIN_PX).all(|x| img.get_pixel(x, MARGIN_PX + 5).0 == [255, 255, 255]));
        let full = confusion_png(&chart).unwrap();
        assert_eq!(full.text_drawn, ensure_font().is_loaded());
        if full.text_drawn {
            let img = decode(&full);
            let layout = Layout::new(&chart, true);
            // The row labels put ink left of the grid.
            let ink = (0..layout.grid_left)
                .flat_map(|x| (layout.grid_top..layout.grid_top + CELL_PX).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128)
                .count();
            assert!(ink > 20, "{ink} dark pixels next to the grid");
        }
    }

    #[test]
    fn same_chart_same_bytes() {
        let names = labels(&["a", "b", "c"]);
        let counts = vec![vec![1, 2, 3], vec![0, 0, 9], vec![4, 4, 4]];
        let chart = ConfusionChart {
            title: "determinism",
            truth_labels: &names,
            predicted_labels: &names,
            counts: &counts,
        };
        assert_eq!(
            confusion_png(&chart).unwrap(),
            confusion_png(&chart).unwrap()
        );
    }

    #[test]
    fn malformed_matrices_are_errors_not_panics() {
        let two = labels(&["a", "b"]);
        let none: Vec<String> = Vec::new();
        type Case<'a> = (&'a [String], &'a [String], Vec<Vec<u64>>);
        let cases: Vec<Case<'_>> = vec![
            (&none, &two, vec![]),
            (&two, &none, vec![vec![], vec![]]),
            (&two, &two, vec![vec![1, 2]]),
            (&two, &two, vec![vec![1, 2], vec![3]]),
        ];
        for (truth, predicted, counts) in cases {
            let chart = ConfusionChart {
                title: "bad",
                truth_labels: truth,
                predicted_labels: predicted,
                counts: &counts,
            };
            let err = confusion_png(&chart).unwrap_err();
            assert!(matches!(err, PlotError::InvalidData { .. }), "{err}");
        }
    }
}
