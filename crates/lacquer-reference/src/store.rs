//! Where profiles and platforms come from: the ones shipped in the binary
//! (`profiles/*.toml`, embedded at build time) and the ones a user built
//! from their own references, in a directory of TOML files.
//!
//! A user profile with the name of a built-in one replaces it: a user who
//! rebuilt `electronic` from their own masters means theirs.

use crate::ReferenceError;
use lacquer_core::profile::PROFILE_SCHEMA_VERSION;
use lacquer_core::{PlatformTable, Profile};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// `profiles/platforms.toml`, embedded.
const PLATFORMS_TOML: &str = include_str!("../../../profiles/platforms.toml");

/// Environment variable naming the user profile directory.
pub const PROFILES_DIR_ENV: &str = "LACQUER_PROFILES_DIR";

/// The user profile directory when none is given on the command line:
/// `$LACQUER_PROFILES_DIR`, else `${XDG_CONFIG_HOME:-~/.config}/lacquer/profiles`.
/// `None` only when neither that variable, `XDG_CONFIG_HOME` nor `HOME` is set.
pub fn default_user_profiles_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty(PROFILES_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    let config = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("lacquer").join("profiles"))
}

/// The delivery platforms shipped with lacquer (`profiles/platforms.toml`).
pub fn builtin_platforms() -> Result<PlatformTable, ReferenceError> {
    parse_platforms(PLATFORMS_TOML, "built-in profiles/platforms.toml")
}

/// Parses a platforms table; `origin` names the file in errors.
pub fn parse_platforms(text: &str, origin: &str) -> Result<PlatformTable, ReferenceError> {
    let table: PlatformTable =
        toml::from_str(text).map_err(|source| ReferenceError::PlatformsToml {
            origin: origin.to_owned(),
            source,
        })?;
    for p in &table.platforms {
        let valid = !p.id.is_empty()
            && p.ceiling_dbtp.is_finite()
            && p.target_lufs.is_none_or(f64::is_finite);
        if !valid {
            return Err(ReferenceError::InvalidProfile {
                origin: origin.to_owned(),
                detail: format!("platform {:?} has an empty id or a non-finite number", p.id),
            });
        }
    }
    Ok(table)
}

/// Where a stored profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileOrigin {
    /// Shipped in the binary; the file name under `profiles/`.
    BuiltIn(String),
    /// A TOML file in the user profile directory.
    User(PathBuf),
}

impl std::fmt::Display for ProfileOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn(file) => write!(f, "built-in profiles/{file}"),
            Self::User(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A profile and where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub profile: Profile,
    pub origin: ProfileOrigin,
}

/// All profiles known to this run, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileStore {
    entries: BTreeMap<String, StoredProfile>,
}

impl ProfileStore {
    /// The built-in profiles, then the user's from `user_dir` (every `*.toml`
    /// in it, sorted by file name) when given. A named directory that does
    /// not exist is an error; pass `None` to use the built-in ones only.
    pub fn load(user_dir: Option<&Path>) -> Result<Self, ReferenceError> {
        let mut entries = BTreeMap::new();
        for (file, text) in BUILTIN_PROFILES {
            let origin = ProfileOrigin::BuiltIn((*file).to_owned());
            let profile = parse_profile(text, &origin.to_string())?;
            entries.insert(profile.name.clone(), StoredProfile { profile, origin });
        }
        if let Some(dir) = user_dir {
            let mut user: BTreeMap<String, PathBuf> = BTreeMap::new();
            for path in toml_files(dir)? {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| ReferenceError::Read {
                        path: path.clone(),
                        source,
                    })?;
                let profile = parse_profile(&text, &path.display().to_string())?;
                if let Some(other) = user.insert(profile.name.clone(), path.clone()) {
                    return Err(ReferenceError::DuplicateProfile {
                        name: profile.name,
                        path,
                        other,
                    });
                }
                let origin = ProfileOrigin::User(path);
                entries.insert(profile.name.clone(), StoredProfile { profile, origin });
            }
        }
        Ok(Self { entries })
    }

    /// The profile with this name (exact, else ignoring ASCII case).
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.entry(name).map(|e| &e.profile)
    }

    /// The profile with this name and where it came from.
    pub fn entry(&self, name: &str) -> Option<&StoredProfile> {
        self.entries.get(name).or_else(|| {
            self.entries
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// Profile names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    /// Every profile with its origin, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &StoredProfile> {
        self.entries.values()
    }
}

/// `*.toml` files directly in `dir`, sorted (platform tables excluded).
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ReferenceError> {
    let read_err = |source| ReferenceError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let is_toml = path.extension().is_some_and(|x| x == "toml");
        let is_platforms = path.file_name().is_some_and(|n| n == "platforms.toml");
        if is_toml && !is_platforms && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses and checks a profile; `origin` names the file in errors. The
/// schema version is checked before the fields, so an old or newer file is
/// reported as such rather than as a missing field.
pub fn parse_profile(text: &str, origin: &str) -> Result<Profile, ReferenceError> {
    let toml_err = |source| ReferenceError::ProfileToml {
        origin: origin.to_owned(),
        source,
    };
    let table: toml::Table = toml::from_str(text).map_err(toml_err)?;
    let found = table
        .get("schema_version")
        .and_then(toml::Value::as_integer);
    if found != Some(i64::from(PROFILE_SCHEMA_VERSION)) {
        return Err(ReferenceError::SchemaVersion {
            origin: origin.to_owned(),
            found,
            expected: PROFILE_SCHEMA_VERSION,
        });
    }
    let profile: Profile = toml::from_str(text).map_err(toml_err)?;
    validate(&profile).map_err(|detail| ReferenceError::InvalidProfile {
        origin: origin.to_owned(),
        detail,
    })?;
    Ok(profile)
}

/// A profile name: lower-case letters, digits, `_` and `-`, so it is also a
/// safe file name and a label a classifier can carry.
pub fn is_valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "platforms"
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn validate(p: &Profile) -> Result<(), String> {
    if !is_valid_profile_name(&p.name) {
        return Err(format!(
            "name {:?} must be lower-case letters, digits, '_' or '-'",
            p.name
        ));
    }
    let t = &p.tonal;
    let n = t.third_octave_centres_hz.len();
    if n == 0 {
        return Err("tonal curve has no bands".into());
    }
    if t.mid_db.len() != n || t.side_db.len() != n || t.mid_spread_db.len() != n {
        return Err(format!(
            "tonal vectors differ in length: {n} centres, {} mid, {} side, {} spread",
            t.mid_db.len(),
            t.side_db.len(),
            t.mid_spread_db.len()
        ));
    }
    if !t
        .third_octave_centres_hz
        .windows(2)
        .all(|w| w[0].0 < w[1].0)
        || t.third_octave_centres_hz[0].0 <= 0.0
    {
        return Err("third_octave_centres_hz must be positive and ascending".into());
    }
    let all_finite = t
        .mid_db
        .iter()
        .chain(&t.side_db)
        .chain(&t.mid_spread_db)
        .all(|d| d.0.is_finite());
    if !all_finite {
        return Err("tonal curve holds a non-finite value".into());
    }
    let d = &p.dynamics;
    for (what, r) in [
        ("crest_db", d.crest_db),
        ("plr_db", d.plr_db),
        ("lra_lu", d.lra_lu),
        ("integrated_lufs", d.integrated_lufs),
        ("width", p.stereo.width),
    ] {
        if !(r.low <= r.typical && r.typical <= r.high) {
            return Err(format!(
                "{what}: need low <= typical <= high, got {} / {} / {}",
                r.low, r.typical, r.high
            ));
        }
    }
    let s = &p.style;
    if ![s.glue, s.multiband, s.saturation]
        .iter()
        .all(|v| (0.0..=1.0).contains(v))
    {
        return Err("style values must lie in 0..=1".into());
    }
    if !p.stereo.mono_below_hz.is_finite()
        || !(-1.0..=1.0).contains(&p.stereo.low_end_correlation_min)
    {
        return Err(
            "stereo: mono_below_hz must be finite and low_end_correlation_min in -1..=1".into(),
        );
    }
    Ok(())
}

/// The TOML text of a profile, with a header comment saying what it is, how
/// it was built and the rules behind the derived numbers. Same profile →
/// same bytes (nothing time- or machine-dependent goes in).
pub fn profile_to_toml(profile: &Profile) -> Result<String, ReferenceError> {
    let body =
        toml::to_string_pretty(profile).map_err(|source| ReferenceError::ProfileSerialize {
            name: profile.name.clone(),
            source,
        })?;
    let p = &profile.provenance;
    let mut out = String::new();
    let mut line = |text: &str| {
        let _ = writeln!(out, "{}", format!("# {text}").trim_end());
    };
    line(&format!(
        "Lacquer genre profile `{}` — measured, not written by hand.",
        profile.name
    ));
    line(&format!("Built by: {}", p.built_by));
    line(&format!(
        "From {} source tracks ({} clips), measured by lacquer {}; source hash {}.",
        p.tracks, p.clips, p.engine_version, p.source_hash
    ));
    line("");
    line("How the numbers were derived (lacquer-reference, builder.rs):");
    line("- each track is the median of its clips; the genre is statistics over tracks;");
    line("- tonal: 1/3-octave MID/SIDE level minus integrated loudness (dB), median over");
    line("  tracks; mid_spread_db is half the interquartile range; a band is kept when at");
    line("  least half the tracks can represent it; side -100 dB means no side energy;");
    line("- ranges: low/typical/high = 10th/50th/90th percentile over tracks;");
    line("- width = SIDE/(MID+SIDE) energy; mono_below_hz = median over tracks of the highest");
    line(&format!(
        "  band edge below which SIDE holds at most {} of the energy (all bands below together)",
        crate::builder::MONO_WIDTH_MAX
    ));
    line(&format!(
        "  (searched up to {} Hz); low_end_correlation_min = 10th percentile of the",
        crate::builder::MONO_SEARCH_MAX_HZ
    ));
    line("  correlation below 150 Hz;");
    line(&format!(
        "- style, linear ramps clamped to 0..1 on the genre's median measurements:\n#   glue = PLR {} dB -> 0, {} dB -> 1; multiband = glue x (low-end modulation\n#   {} dB -> 0, {} dB -> 1); saturation = crest factor {} dB -> 0, {} dB -> 1.",
        crate::builder::GLUE_OPEN_PLR_DB,
        crate::builder::GLUE_DENSE_PLR_DB,
        crate::builder::MULTIBAND_FREE_LOW_END_DB,
        crate::builder::MULTIBAND_TIGHT_LOW_END_DB,
        crate::builder::SATURATION_OPEN_CREST_DB,
        crate::builder::SATURATION_DENSE_CREST_DB,
    ));
    line("lra_lu is measured over what was analysed: for the corpus profiles 10-s clips,");
    line("which read lower than a whole track's loudness range.");
    line(&format!("Rebuild rather than edit: {}", p.built_by));
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}
