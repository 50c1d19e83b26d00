//! Genre profiles and delivery platforms: the targets a master is steered to.
//!
//! A profile is *measured*, never invented: `lacquer profile build` derives it
//! from real masters (the labelled corpus, or a folder a user trusts) and
//! records where it came from. Reference matching compares a mix against it;
//! the planner turns the differences into settings. Both are plain serde data
//! stored as TOML under `profiles/`.
//!
//! Tonal curves here are *loudness-normalised*: a band's MID (or SIDE) level
//! in dB minus the track's integrated loudness in LUFS, so tracks mastered to
//! different loudness compare on tone alone.

use crate::units::{Db, Hz};
use serde::{Deserialize, Serialize};

/// Bumped whenever a profile field is added, removed or changes meaning.
pub const PROFILE_SCHEMA_VERSION: u32 = 1;

/// A closed interval with a typical (median) value inside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetRange {
    pub low: f64,
    pub typical: f64,
    pub high: f64,
}

impl TargetRange {
    /// How far `value` lies outside the range: 0 inside, negative below
    /// `low` (value − low), positive above `high` (value − high).
    pub fn excess(&self, value: f64) -> f64 {
        if value < self.low {
            value - self.low
        } else if value > self.high {
            value - self.high
        } else {
            0.0
        }
    }
}

/// Where a profile's numbers came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileProvenance {
    /// How it was built, e.g. `lacquer profile build --manifest training-data-manifest/clips.csv`.
    pub built_by: String,
    /// Engine version that measured the tracks.
    pub engine_version: String,
    /// Source tracks and clips measured.
    pub tracks: u32,
    pub clips: u32,
    /// sha256 over the sorted source identifiers and their sha256s, so a
    /// rebuild from the same material can be recognised.
    pub source_hash: String,
    /// Free text: the manifest, packages or folder it was built from.
    pub sources: String,
}

/// Loudness-normalised long-term spectrum the genre's masters share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileTonal {
    /// 1/3-octave centres (ISO 266), matching `TonalAnalysis`.
    pub third_octave_centres_hz: Vec<Hz>,
    /// Median MID level per band minus integrated loudness, dB.
    pub mid_db: Vec<Db>,
    /// Median SIDE level per band minus integrated loudness, dB.
    pub side_db: Vec<Db>,
    /// Spread of the MID curve across the source tracks per band (half the
    /// interquartile range, dB): how tightly the genre agrees there. Below
    /// full intensity the planner lets a mix sit further from a wide band.
    pub mid_spread_db: Vec<Db>,
}

/// Dynamics the genre's masters sit in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileDynamics {
    pub crest_db: TargetRange,
    pub plr_db: TargetRange,
    pub lra_lu: TargetRange,
    /// Integrated loudness of the source masters, for information (the
    /// delivery target comes from the platform or the user).
    pub integrated_lufs: TargetRange,
}

/// Stereo image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileStereo {
    /// SIDE / (MID + SIDE) energy over the whole band (0 mono, 0.5 wide).
    pub width: TargetRange,
    /// Below this the genre's masters are (near) mono.
    pub mono_below_hz: f64,
    /// Correlation below 150 Hz the genre's masters keep at least.
    pub low_end_correlation_min: f64,
}

/// How the genre is usually processed, each 0 (none) … 1 (heavy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfileStyle {
    /// Wideband glue compression.
    pub glue: f64,
    /// Multiband compression.
    pub multiband: f64,
    /// Saturation / soft clipping allowed.
    pub saturation: f64,
}

/// Everything the planner and reference matching know about a genre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// [`PROFILE_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// The label, as the classifier knows it (e.g. `metal_rock`).
    pub name: String,
    pub description: String,
    pub provenance: ProfileProvenance,
    pub tonal: ProfileTonal,
    pub dynamics: ProfileDynamics,
    pub stereo: ProfileStereo,
    pub style: ProfileStyle,
}

/// A delivery target from `profiles/platforms.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// Identifier used on the command line, e.g. `spotify`.
    pub id: String,
    /// Display name, e.g. `Spotify`.
    pub name: String,
    /// Integrated loudness the platform normalises to; `None` for targets
    /// without normalisation (CD / loud), where the intent sets the level.
    pub target_lufs: Option<f64>,
    /// Highest true peak allowed, dBTP.
    pub ceiling_dbtp: f64,
    /// Where the figure comes from (published spec or guidance).
    #[serde(default)]
    pub note: String,
}

/// The file `profiles/platforms.toml`: `[[platform]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformTable {
    #[serde(rename = "platform")]
    pub platforms: Vec<Platform>,
}

impl PlatformTable {
    /// The platform with this id (case-insensitive).
    pub fn get(&self, id: &str) -> Option<&Platform> {
        self.platforms
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_is_zero_inside_and_signed_outside() {
        let r = TargetRange {
            low: 8.0,
            typical: 10.0,
            high: 12.0,
        };
        assert_eq!(r.excess(9.0), 0.0);
        assert_eq!(r.excess(6.5), -1.5);
        assert_eq!(r.excess(13.0), 1.0);
    }
}
