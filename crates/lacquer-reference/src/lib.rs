//! Reference matching: how far a mix is from a genre profile or a reference
//! track, and building profiles from masters people trust.
//!
//! The planner never looks at raw spectra: it reads [`Deltas`] (target − mix)
//! from [`deltas_vs_profile`] or [`deltas_vs_reference`]. Profiles are
//! measured from real masters by [`build_profile`] (via
//! [`build_from_manifest`] for the labelled corpus or [`build_from_folder`]
//! for a user's references), stored as TOML under `profiles/` and loaded
//! through a [`ProfileStore`]. An unsure classifier's scores become one
//! target through [`blend_profiles`].
//!
//! [`Deltas`]: lacquer_core::Deltas

mod blend;
mod builder;
mod corpus;
pub mod curve;
mod error;
mod matching;
mod stats;
mod store;

pub use blend::blend_profiles;
pub use builder::{
    EMPTY_SIDE_DB, GLUE_DENSE_PLR_DB, GLUE_OPEN_PLR_DB, MONO_SEARCH_MAX_HZ, MONO_WIDTH_MAX,
    MULTIBAND_FREE_LOW_END_DB, MULTIBAND_TIGHT_LOW_END_DB, RANGE_HIGH_PERCENTILE,
    RANGE_LOW_PERCENTILE, SATURATION_DENSE_CREST_DB, SATURATION_OPEN_CREST_DB, TrackMeasurement,
    build_profile, derive_style,
};
pub use corpus::{
    AUDIO_EXTENSIONS, ManifestClip, Progress, audio_files, build_from_folder, build_from_manifest,
    default_corpus_cache_dir, measure_file, measure_file_with, read_manifest,
};
pub use error::ReferenceError;
pub use matching::{MEAN_ABS_RANGE_HZ, deltas_vs_profile, deltas_vs_reference, width_share};
pub use stats::{iqr_half_width, median, percentile};
pub use store::{
    PROFILES_DIR_ENV, ProfileOrigin, ProfileStore, StoredProfile, builtin_platforms,
    default_user_profiles_dir, is_valid_profile_name, parse_platforms, parse_profile,
    profile_to_toml,
};

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
