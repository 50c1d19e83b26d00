//! PNG charts for people who would rather look than read numbers.
//!
//! Charts are drawn into memory and handed back as PNG bytes; this crate never
//! writes files, so the caller keeps control of where they go (atomically,
//! without clobbering anything). Text needs a TrueType font that we may not
//! ship, so [`font`] finds one on the system at run time; when there is none,
//! charts are still drawn, only without their text.
//!
//! For other charts (see [`master`]): [`render_png`] gives a white canvas and
//! encodes it, [`font::text_style`] gives a style in the registered font (or
//! `None`, which means "skip the text"), and `?` turns plotters' drawing
//! errors into [`PlotError`].

pub mod confusion;
pub mod font;
pub mod master;

pub use confusion::{ConfusionChart, confusion_png, confusion_png_without_text};
pub use font::{FontStatus, ensure_font};

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingAreaErrorKind, IntoDrawingArea, WHITE};

/// Largest side of a chart we agree to draw (memory: 3 bytes per pixel).
pub const MAX_SIDE_PX: u32 = 8192;

/// What every chart function draws on: an RGB bitmap in memory, pixel
/// coordinates from the top-left corner.
pub type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("chart size {width_px}x{height_px} px is outside 1..={MAX_SIDE_PX} px per side")]
    InvalidSize { width_px: u32, height_px: u32 },
    #[error("invalid chart data: {detail}")]
    InvalidData { detail: String },
    #[error("drawing the chart failed: {detail}")]
    Draw { detail: String },
    #[error("encoding the chart as PNG failed")]
    Encode(#[source] image::ImageError),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self::Draw {
            detail: e.to_string(),
        }
    }
}

/// A finished chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    pub bytes: Vec<u8>,
    pub width_px: u32,
    pub height_px: u32,
    /// False when no font was found (or text was not asked for): the chart
    /// has its shapes and colours but no labels.
    pub text_drawn: bool,
}

/// Draws on a white `width_px` × `height_px` canvas with `draw` and returns
/// the PNG bytes. Same drawing → same bytes.
pub fn render_png<F>(width_px: u32, height_px: u32, draw: F) -> Result<Vec<u8>, PlotError>
where
    F: FnOnce(&Canvas<'_>) -> Result<(), PlotError>,
{
    if !(1..=MAX_SIDE_PX).contains(&width_px) || !(1..=MAX_SIDE_PX).contains(&height_px) {
        return Err(PlotError::InvalidSize {
            width_px,
            height_px,
        });
    }
    let len = width_px as usize * height_px as usize * 3;
    let mut rgb = vec![0_u8; len];
    {
        let canvas =
            BitMapBackend::with_buffer(&mut rgb, (width_px, height_px)).into_drawing_area();
        canvas.fill(&WHITE)?;
        draw(&canvas)?;
        canvas.present()?;
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgb, width_px, height_px, image::ColorType::Rgb8)
        .map_err(PlotError::Encode)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::{BLACK, Rectangle};
    use plotters::style::Color;

    #[test]
    fn refuses_empty_and_huge_canvases() {
        for (w, h) in [(0, 10), (10, 0), (MAX_SIDE_PX + 1, 10)] {
            let err = render_png(w, h, |_| Ok(())).unwrap_err();
            assert!(matches!(err, PlotError::InvalidSize { .. }), "{err}");
        }
    }

    #[test]
    fn draws_what_it_is_told_and_round_trips_through_png() {
        let bytes = render_png(20, 10, |c| {
            c.draw(&Rectangle::new([(0, 0), (4, 4)], BLACK.filled()))?;
            Ok(())
        })
        .unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (20, 10));
        assert_eq!(img.get_pixel(2, 2).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(15, 8).0, [255, 255, 255]);
    }

    #[test]
    fn errors_inside_the_drawing_come_back() {
        let err = render_png(10, 10, |_| {
            Err(PlotError::InvalidData {
                detail: "nope".into(),
            })
        })
        .unwrap_err();
        assert!(err.to_string().contains("nope"));
    }
}
