//! Measuring the material a profile is built from: the labelled corpus
//! (a clip manifest plus the cache `training-data-manifest/fetch` fills) or
//! a folder of masters a user trusts.

use crate::builder::{TrackMeasurement, build_profile};
use crate::{ReferenceError, hex};
use lacquer_analysis::analyze_in_two_walks;
use lacquer_core::profile::ProfileProvenance;
use lacquer_core::{Analysis, Profile};
use lacquer_io::{DEFAULT_SPILL_FRAMES, DecodeOptions, decode_to_spool};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Audio file extensions a profile folder is scanned for.
pub const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "wave", "flac", "aif", "aiff", "mp3", "ogg", "m4a", "mp4",
];

/// Decodes and analyses one file. A mono source is measured as mono (one
/// channel), so it has no width rather than a fake "mono in stereo".
pub fn measure_file(path: &Path) -> Result<Analysis, ReferenceError> {
    measure_file_with(path, &DecodeOptions::default())
}

/// [`measure_file`] under `options` (its length limit, say). The file is
/// read once into a spool (memory up to [`DEFAULT_SPILL_FRAMES`], a
/// temporary file beyond) and measured in two streamed passes, so memory
/// does not grow with the file's length.
pub fn measure_file_with(path: &Path, options: &DecodeOptions) -> Result<Analysis, ReferenceError> {
    // A spool that cannot be kept (temporary space) reads as an I/O error
    // naming the temporary directory.
    let (spool, source) =
        decode_to_spool(path, options, DEFAULT_SPILL_FRAMES, |e| e, |_, _, _| Ok(()))
            .map_err(|source| ReferenceError::Decode { source })?;
    let analysis_err = |source| ReferenceError::Analysis {
        path: path.to_path_buf(),
        source,
    };
    let pass_err = |e| match e {
        PassError::Read(source) => ReferenceError::Decode { source },
        PassError::Analysis(source) => analysis_err(source),
    };
    // The spool holds a mono source's channel twice; measure it once.
    let channels = if source.channels == 1 { 1 } else { 2 };
    analyze_in_two_walks(spool.sample_rate(), channels, analysis_err, |sink| {
        spool
            .for_each_piece(|piece| sink(&piece[..channels]).map_err(PassError::Analysis))
            .map_err(pass_err)
    })
}

/// A failure inside a pass over the spool: reading it back, or measuring.
enum PassError {
    Read(lacquer_io::IoError),
    Analysis(lacquer_analysis::AnalysisError),
}

impl From<lacquer_io::IoError> for PassError {
    fn from(e: lacquer_io::IoError) -> Self {
        Self::Read(e)
    }
}

/// One row of a clip manifest, the columns profile building needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestClip {
    pub clip_id: String,
    pub package: String,
    pub sha256: String,
    pub start_s: String,
    pub duration_s: String,
    pub genre: String,
    pub source_track_id: String,
    pub kind: String,
}

/// Reads a clip manifest (the CSV format of `training-data-manifest/`,
/// RFC 4180). Only the columns profile building uses are required.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestClip>, ReferenceError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReferenceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, detail: String| ReferenceError::Manifest {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let records = parse_csv(&text).map_err(|(line, detail)| bad(line, detail))?;
    let Some(((_, header), rows)) = records.split_first() else {
        return Err(bad(1, "the manifest is empty".into()));
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(1, format!("missing column {name:?}")))
    };
    let [
        clip_id,
        package,
        sha256,
        start_s,
        duration_s,
        genre,
        track,
        kind,
    ] = [
        "clip_id",
        "package",
        "sha256",
        "start_s",
        "duration_s",
        "genre",
        "source_track_id",
        "kind",
    ]
    .map(column);
    let (clip_id, package, sha256, start_s, duration_s, genre, track, kind) = (
        clip_id?,
        package?,
        sha256?,
        start_s?,
        duration_s?,
        genre?,
        track?,
        kind?,
    );
    let mut clips = Vec::with_capacity(rows.len());
    let mut seen = BTreeSet::new();
    for (line, fields) in rows {
        if fields.len() == 1 && fields[0].is_empty() {
            continue;
        }
        if fields.len() != header.len() {
            return Err(bad(
                *line,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        let clip = ManifestClip {
            clip_id: fields[clip_id].clone(),
            package: fields[package].clone(),
            sha256: fields[sha256].clone(),
            start_s: fields[start_s].clone(),
            duration_s: fields[duration_s].clone(),
            genre: fields[genre].clone(),
            source_track_id: fields[track].clone(),
            kind: fields[kind].clone(),
        };
        let id_ok = !clip.clip_id.is_empty()
            && !clip.clip_id.starts_with(['.', '-', '_'])
            && clip
                .clip_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !id_ok {
            return Err(bad(
                *line,
                format!("clip_id {:?} is not a safe file name", clip.clip_id),
            ));
        }
        if !crate::store::is_valid_profile_name(&clip.genre) {
            return Err(bad(
                *line,
                format!("genre {:?} is not a valid label", clip.genre),
            ));
        }
        if clip.source_track_id.is_empty() {
            return Err(bad(*line, "empty source_track_id".into()));
        }
        if !seen.insert(clip.clip_id.clone()) {
            return Err(bad(
                *line,
                format!("clip_id {:?} appears twice", clip.clip_id),
            ));
        }
        clips.push(clip);
    }
    Ok(clips)
}

/// A CSV record and the line it starts on.
type Record = (usize, Vec<String>);

/// RFC 4180 records; quoted fields may hold commas, doubled quotes and
/// newlines. The error is (line, what is wrong).
fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut record_line) = (1usize, 1usize);
    let mut in_quotes = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if in_quotes {
        return Err((record_line, "unterminated quoted field".into()));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

/// The corpus cache `training-data-manifest/fetch` writes to by default:
/// `${XDG_CACHE_HOME:-~/.cache}/lacquer/corpus`.
pub fn default_corpus_cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let cache = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("lacquer").join("corpus"))
}

/// Progress callback: (done, total, what was just measured).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize, &str);

/// One profile per genre in the manifest, from its real rows (all splits),
/// reading each clip from `<cache>/clips/<clip_id>.wav`. `manifest_label`
/// is how the manifest is named in the provenance (the path as the user
/// gave it, so the same command gives the same bytes). Genres sorted.
pub fn build_from_manifest(
    manifest: &Path,
    manifest_label: &str,
    cache_dir: &Path,
    progress: Progress<'_>,
) -> Result<Vec<Profile>, ReferenceError> {
    let clips: Vec<ManifestClip> = read_manifest(manifest)?
        .into_iter()
        .filter(|c| c.kind == "real")
        .collect();
    if clips.is_empty() {
        return Err(ReferenceError::Manifest {
            path: manifest.to_path_buf(),
            line: 1,
            detail: "no real clips in the manifest".into(),
        });
    }
    // genre → track → clips, all sorted.
    let mut by_genre: BTreeMap<&str, BTreeMap<&str, Vec<&ManifestClip>>> = BTreeMap::new();
    for clip in &clips {
        by_genre
            .entry(&clip.genre)
            .or_default()
            .entry(&clip.source_track_id)
            .or_default()
            .push(clip);
    }
    // Fail on a missing clip before spending minutes measuring the others.
    let clip_path = |c: &ManifestClip| cache_dir.join("clips").join(format!("{}.wav", c.clip_id));
    if let Some(missing) = clips.iter().find(|c| !clip_path(c).is_file()) {
        return Err(ReferenceError::MissingClip {
            clip_id: missing.clip_id.clone(),
            path: clip_path(missing),
        });
    }
    let total = clips.len();
    let mut done = 0;
    let mut profiles = Vec::new();
    for (genre, tracks) in &by_genre {
        let mut measured = Vec::with_capacity(tracks.len());
        let mut hasher = Sha256::new();
        let mut packages = BTreeSet::new();
        let mut genre_clips = 0u32;
        for (track_id, track_clips) in tracks {
            let mut analyses = Vec::with_capacity(track_clips.len());
            for clip in track_clips {
                analyses.push(measure_file(&clip_path(clip))?);
                done += 1;
                progress(done, total, &clip.clip_id);
            }
            genre_clips += track_clips.len() as u32;
            measured.push(TrackMeasurement {
                track_id: (*track_id).to_owned(),
                clips: analyses,
            });
        }
        let mut lines: Vec<String> = tracks
            .values()
            .flatten()
            .map(|c| {
                format!(
                    "{} {} {} {}\n",
                    c.clip_id, c.sha256, c.start_s, c.duration_s
                )
            })
            .collect();
        lines.sort();
        for line in &lines {
            hasher.update(line.as_bytes());
        }
        for clip in tracks.values().flatten() {
            packages.insert(if clip.package.is_empty() {
                "local files"
            } else {
                clip.package.as_str()
            });
        }
        let provenance = ProfileProvenance {
            built_by: format!("lacquer profile build --manifest {manifest_label}"),
            engine_version: lacquer_core::ENGINE_VERSION.into(),
            tracks: measured.len() as u32,
            clips: genre_clips,
            source_hash: hex(&hasher.finalize()),
            sources: format!(
                "{manifest_label} (kind=real, all splits): {}",
                packages.into_iter().collect::<Vec<_>>().join(", ")
            ),
        };
        let description = format!(
            "{genre}: measured from {} real tracks ({genre_clips} clips) labelled {genre} in {manifest_label}",
            measured.len()
        );
        profiles.push(build_profile(genre, &description, &measured, provenance)?);
    }
    Ok(profiles)
}

/// Audio files directly in `dir` (by extension), sorted by name.
pub fn audio_files(dir: &Path) -> Result<Vec<PathBuf>, ReferenceError> {
    let read_err = |source| ReferenceError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let audio = path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()));
        if audio && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A profile from a folder of reference masters: every audio file directly
/// in `dir` is one source track, measured whole. `dir_label` names the folder
/// in the provenance.
pub fn build_from_folder(
    dir: &Path,
    dir_label: &str,
    name: &str,
    progress: Progress<'_>,
) -> Result<Profile, ReferenceError> {
    if !crate::store::is_valid_profile_name(name) {
        return Err(ReferenceError::Build {
            name: name.to_owned(),
            detail:
                "a profile name is lower-case letters, digits, '_' or '-' (and not 'platforms')"
                    .into(),
        });
    }
    let files = audio_files(dir)?;
    if files.is_empty() {
        return Err(ReferenceError::Folder {
            path: dir.to_path_buf(),
            detail: format!(
                "no audio files ({}) in this folder",
                AUDIO_EXTENSIONS.join(", ")
            ),
        });
    }
    let mut tracks = Vec::with_capacity(files.len());
    let mut lines = Vec::with_capacity(files.len());
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|source| ReferenceError::Read {
            path: path.clone(),
            source,
        })?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        lines.push(format!("{file_name} {}\n", hex(&Sha256::digest(&bytes))));
        tracks.push(TrackMeasurement {
            track_id: file_name.clone(),
            clips: vec![measure_file(path)?],
        });
        progress(i + 1, files.len(), &file_name);
    }
    lines.sort();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    let provenance = ProfileProvenance {
        built_by: format!("lacquer profile build --from {dir_label} --name {name}"),
        engine_version: lacquer_core::ENGINE_VERSION.into(),
        tracks: tracks.len() as u32,
        clips: tracks.len() as u32,
        source_hash: hex(&hasher.finalize()),
        sources: format!(
            "{} audio files in {dir_label}, each measured whole",
            files.len()
        ),
    };
    let description = format!(
        "{name}: measured from {} reference masters in {dir_label}",
        files.len()
    );
    build_profile(name, &description, &tracks, provenance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_commas_and_newlines() {
        let text = "a,b,c\n1,\"x, \"\"y\"\"\",3\r\n2,\"multi\nline\",4\n";
        let records = parse_csv(text).unwrap_or_default();
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].1, ["1", "x, \"y\"", "3"]);
        assert_eq!(records[2].0, 3);
        assert_eq!(records[2].1, ["2", "multi\nline", "4"]);
        assert!(parse_csv("a,\"b\n").is_err());
    }
}
