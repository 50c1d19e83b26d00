//! Finding a TrueType font at run time.
//!
//! We may not commit font files, and plotters' ab_glyph text needs one, so
//! the first readable font among `$LACQUER_FONT` and the usual system paths
//! is registered once per process under [`FONT_FAMILY`]. A machine without
//! any of them still gets its charts, without text: callers ask
//! [`text_style`] and skip the text when it says `None`.

use plotters::style::{Color, FontStyle, IntoFont, RGBColor, TextStyle, register_font};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The family name charts use for text once a font is registered.
pub const FONT_FAMILY: &str = "lacquer-sans";

/// Environment variable naming a TTF/OTF file to use before the system paths.
pub const FONT_PATH_ENV: &str = "LACQUER_FONT";

/// Where common systems keep a plain sans-serif TTF, most likely first.
/// Debian/Ubuntu: `apt-get install fonts-dejavu-core`.
pub const SYSTEM_FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// What the font search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontStatus {
    /// Registered under [`FONT_FAMILY`].
    Loaded { path: PathBuf },
    /// No usable font; each candidate tried with the reason it was refused.
    Missing { tried: Vec<(PathBuf, String)> },
}

impl FontStatus {
    pub fn is_loaded(&self) -> bool {
        matches!(self, Self::Loaded { .. })
    }

    /// One line for a warning: what was tried and how to fix it.
    pub fn missing_message(&self) -> Option<String> {
        let Self::Missing { tried } = self else {
            return None;
        };
        let tried: Vec<String> = tried
            .iter()
            .map(|(p, why)| format!("{} ({why})", p.display()))
            .collect();
        Some(format!(
            "no TrueType font found, so charts are drawn without text; install one \
             (Debian: apt-get install fonts-dejavu-core) or set {FONT_PATH_ENV}=/path/to/font.ttf. \
             Tried: {}",
            tried.join(", ")
        ))
    }
}

/// The candidates in search order: `$LACQUER_FONT` first, then the system paths.
pub fn candidate_paths() -> Vec<PathBuf> {
    let mut paths = Vec::with_capacity(SYSTEM_FONT_PATHS.len() + 1);
    if let Some(p) = std::env::var_os(FONT_PATH_ENV).filter(|p| !p.is_empty()) {
        paths.push(PathBuf::from(p));
    }
    paths.extend(SYSTEM_FONT_PATHS.iter().map(PathBuf::from));
    paths
}

/// Registers the first usable font among `candidates` under [`FONT_FAMILY`].
/// Plotters keeps fonts as `&'static` data, so the bytes of the font that is
/// tried are leaked on purpose (once per process through [`ensure_font`]).
pub fn register_first(candidates: &[PathBuf]) -> FontStatus {
    let mut tried = Vec::new();
    for path in candidates {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tried.push((path.clone(), "not found".to_string()));
                continue;
            }
            Err(e) => {
                tried.push((path.clone(), format!("unreadable: {e}")));
                continue;
            }
        };
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        match register_font(FONT_FAMILY, FontStyle::Normal, bytes) {
            Ok(()) => return FontStatus::Loaded { path: path.clone() },
            Err(_) => tried.push((path.clone(), "not a TrueType/OpenType font".to_string())),
        }
    }
    FontStatus::Missing { tried }
}

/// Searches and registers once per process; later calls return the first result.
pub fn ensure_font() -> &'static FontStatus {
    static STATUS: OnceLock<FontStatus> = OnceLock::new();
    STATUS.get_or_init(|| register_first(&candidate_paths()))
}

/// A text style in the registered font, or `None` when there is no font (the
/// caller then leaves the text out rather than failing).
pub fn text_style(size_px: f64, colour: RGBColor) -> Option<TextStyle<'static>> {
    if !ensure_font().is_loaded() {
        return None;
    }
    Some((FONT_FAMILY, size_px).into_font().color(&colour.to_rgba()))
}

/// Width and height in pixels of `text` in the registered font at `size_px`,
/// or `None` without a font.
pub fn text_size_px(text: &str, size_px: f64) -> Option<(u32, u32)> {
    if !ensure_font().is_loaded() {
        return None;
    }
    (FONT_FAMILY, size_px).into_font().box_size(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_junk_candidates_are_reported_not_fatal() {
        let dir = std::env::temp_dir().join(format!("lacquer-plot-font-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.ttf");
        std::fs::write(&junk, b"this is not a font").unwrap();
        let absent = dir.join("absent.ttf");
        let status = register_first(&[absent.clone(), junk.clone()]);
        let FontStatus::Missing { tried } = &status else {
            panic!("junk must not register: {status:?}");
        };
        assert_eq!(tried.len(), 2);
        assert_eq!(tried[0], (absent, "not found".to_string()));
        assert_eq!(tried[1].0, junk);
        assert!(tried[1].1.contains("not a TrueType"));
        let message = status.missing_message().unwrap();
        assert!(message.contains("fonts-dejavu-core") && message.contains(FONT_PATH_ENV));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_system_font_is_found_when_one_is_installed() {
        // Holds on machines with one of SYSTEM_FONT_PATHS (CI installs
        // fonts-dejavu-core); elsewhere the missing path is what is checked.
        let installed = SYSTEM_FONT_PATHS
            .iter()
            .any(|p| std::path::Path::new(p).is_file());
        let status = ensure_font();
        if installed {
            assert!(status.is_loaded(), "{status:?}");
            let (w, h) = text_size_px("chiptune_tracker", 14.0).unwrap();
            assert!(w > 50 && h > 5, "{w}x{h}");
            assert!(text_style(12.0, RGBColor(0, 0, 0)).is_some());
        } else {
            assert!(status.missing_message().is_some());
            assert!(text_style(12.0, RGBColor(0, 0, 0)).is_none());
        }
    }
}
