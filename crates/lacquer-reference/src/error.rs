//! One error type for the crate, so the CLI can name the file and the problem
//! and decide between "your input is wrong" (exit 2) and "we failed" (exit 1).

use std::path::PathBuf;
use thiserror::Error;

/// Why a profile could not be loaded, built or blended, or a file measured.
#[derive(Debug, Error)]
pub enum ReferenceError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not valid profile TOML: {source}")]
    ProfileToml {
        /// The file, or `built-in NAME` for an embedded profile.
        origin: String,
        #[source]
        source: toml::de::Error,
    },
    #[error(
        "{origin}: schema_version {found:?}, but this lacquer reads version {expected}; rebuild it with `lacquer profile build`"
    )]
    SchemaVersion {
        origin: String,
        found: Option<i64>,
        expected: u32,
    },
    #[error("{origin}: {detail}")]
    InvalidProfile { origin: String, detail: String },
    #[error("{origin}: not a valid platforms table: {source}")]
    PlatformsToml {
        origin: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("profile {name:?} could not be written as TOML: {source}")]
    ProfileSerialize {
        name: String,
        #[source]
        source: toml::ser::Error,
    },
    #[error("{}: profiles {name:?} defined twice (also in {})", path.display(), other.display())]
    DuplicateProfile {
        name: String,
        path: PathBuf,
        other: PathBuf,
    },
    #[error("cannot blend profiles: {detail}")]
    Blend { detail: String },
    #[error("cannot build profile {name:?}: {detail}")]
    Build { name: String, detail: String },
    #[error("{}", .source)]
    Decode {
        #[source]
        source: lacquer_io::IoError,
    },
    #[error("{}: analysis failed: {source}", path.display())]
    Analysis {
        path: PathBuf,
        #[source]
        source: lacquer_analysis::AnalysisError,
    },
    #[error("{}: line {line}: {detail}", path.display())]
    Manifest {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error(
        "{}: clip {clip_id} is not in the corpus cache; run training-data-manifest/fetch (or pass --cache)",
        path.display()
    )]
    MissingClip { clip_id: String, path: PathBuf },
    #[error("{}: {detail}", path.display())]
    Folder { path: PathBuf, detail: String },
}

impl ReferenceError {
    /// Whether the user's input (a file, a manifest, a profile, a name) is at
    /// fault rather than the program: the CLI exits 2 for these.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Self::Decode { source } => source.is_invalid_input(),
            // A path the user named that is not there is their input's fault;
            // other read failures (permissions, I/O) are reported as failures.
            Self::Read { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            Self::ProfileSerialize { .. } | Self::Analysis { .. } => false,
            _ => true,
        }
    }
}
