//! The clip manifest (`training-data-manifest/clips.csv` and local manifests
//! in the same format) and where each clip's audio is.
//!
//! Two kinds of rows, as `training-data-manifest/manifest_format.py` defines
//! them: a Debian package row (non-empty `package`) whose clip the fetch
//! script has cut into `<cache>/clips/<clip_id>.wav`, and a local row whose
//! `path` is a file on disk (absolute or relative to the manifest's folder),
//! or several stems joined by ` + ` that are summed, from which we cut
//! `start_s` … `start_s + duration_s` ourselves. Every clip is checked to be
//! on disk before any model runs, so a missing clip fails in a second, with
//! the list and the command that fetches it, not after an hour of inference.

use crate::EvalError;
use lacquer_core::AudioBuffer;
use lacquer_io::{DecodeOptions, decode_file};
use polars::prelude::{CsvReadOptions, DataType, SerReader};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// Columns `lacquer eval` reads; the manifest may have more.
pub const REQUIRED_COLUMNS: [&str; 7] = [
    "clip_id",
    "package",
    "path",
    "start_s",
    "duration_s",
    "genre",
    "split",
];
/// Separates the stems of a summed mix in `path`.
pub const STEM_SEPARATOR: &str = " + ";
/// Separates an archive from its member in `path`.
pub const ARCHIVE_SEPARATOR: &str = "!/";
/// Sample rate of the clips the fetch script cuts.
pub const CACHED_CLIP_RATE_HZ: u32 = 44_100;
/// How many missing clips the error lists by name.
const MISSING_LISTED: usize = 20;

/// Which rows to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Val,
    Test,
    All,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
            Self::All => "all",
        }
    }

    fn includes(self, split: &str) -> bool {
        self == Self::All || self.as_str() == split
    }
}

/// Where a clip's audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipSource {
    /// A Debian package row: the fetch script's cut clip.
    Package { package: String },
    /// Local file(s), summed sample by sample when there are several, cut here.
    Local {
        paths: Vec<PathBuf>,
        start_s: f64,
        duration_s: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManifestClip {
    pub clip_id: String,
    pub genre: String,
    pub split: String,
    /// Line in the manifest file (header = line 1), for error messages.
    pub line: usize,
    pub source: ClipSource,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub path: PathBuf,
    /// In manifest order.
    pub clips: Vec<ManifestClip>,
}

/// A clip whose audio is known to be on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedClip {
    pub clip_id: String,
    pub genre: String,
    pub audio: ClipAudio,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClipAudio {
    /// Already cut (stereo, 44.1 kHz, float): used whole.
    Cut { path: PathBuf },
    /// Decode, sum, cut.
    Local {
        paths: Vec<PathBuf>,
        start_s: f64,
        duration_s: f64,
    },
}

/// `${XDG_CACHE_HOME:-~/.cache}/lacquer/corpus`, where the fetch script puts clips.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("lacquer").join("corpus"))
}

/// Reads and validates a manifest. Values are read as text (no type guessing),
/// then checked row by row.
pub fn read_manifest(path: &Path) -> Result<Manifest, EvalError> {
    let read_err = |source| EvalError::ManifestRead {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(|e| read_err(e.into()))?;
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(read_err)?;

    let present: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.iter().any(|p| p == c))
        .collect();
    if !missing.is_empty() {
        return Err(EvalError::ManifestColumns {
            path: path.to_path_buf(),
            columns: missing.join(", "),
        });
    }
    let column = |name: &str| -> Result<Vec<String>, EvalError> {
        let c = frame
            .column(name)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(read_err)?;
        let values = c.str().map_err(read_err)?;
        Ok(values
            .iter()
            .map(|v| v.unwrap_or("").trim().to_string())
            .collect())
    };
    let ids = column("clip_id")?;
    let packages = column("package")?;
    let paths = column("path")?;
    let starts = column("start_s")?;
    let durations = column("duration_s")?;
    let genres = column("genre")?;
    let splits = column("split")?;

    let base_dir = path.parent().unwrap_or(Path::new("."));
    let mut clips = Vec::with_capacity(ids.len());
    let mut seen = std::collections::BTreeMap::new();
    for row in 0..ids.len() {
        let line = row + 2;
        let row_err = |detail: String| EvalError::ManifestRow {
            path: path.to_path_buf(),
            line,
            clip_id: ids[row].clone(),
            detail,
        };
        let clip_id = &ids[row];
        if !is_file_name_safe(clip_id) {
            return Err(row_err(
                "clip_id must be letters, digits, '.', '_' or '-' (it names the clip file)".into(),
            ));
        }
        if let Some(first) = seen.insert(clip_id.clone(), line) {
            return Err(row_err(format!("clip_id repeats line {first}")));
        }
        if genres[row].is_empty() {
            return Err(row_err("empty genre".into()));
        }
        if !["train", "val", "test"].contains(&splits[row].as_str()) {
            return Err(row_err(format!(
                "split {:?} is not train, val or test",
                splits[row]
            )));
        }
        let source = if packages[row].is_empty() {
            let number = |name: &str, text: &str| -> Result<f64, EvalError> {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| row_err(format!("{name} {text:?} is not a number")))
            };
            let start_s = number("start_s", &starts[row])?;
            let duration_s = number("duration_s", &durations[row])?;
            if start_s < 0.0 || duration_s <= 0.0 {
                return Err(row_err(format!(
                    "start_s {start_s} must be ≥ 0 and duration_s {duration_s} > 0"
                )));
            }
            let mut stem_paths = Vec::new();
            for stem in paths[row].split(STEM_SEPARATOR).map(str::trim) {
                if stem.is_empty() {
                    return Err(row_err("empty path".into()));
                }
                if stem.contains(ARCHIVE_SEPARATOR) {
                    return Err(row_err(format!(
                        "{stem}: archive members are not read directly; extract the file \
                         and point the path at it, or cut the clips with \
                         training-data-manifest/fetch"
                    )));
                }
                stem_paths.push(base_dir.join(stem));
            }
            ClipSource::Local {
                paths: stem_paths,
                start_s,
                duration_s,
            }
        } else {
            ClipSource::Package {
                package: packages[row].clone(),
            }
        };
        clips.push(ManifestClip {
            clip_id: clip_id.clone(),
            genre: genres[row].clone(),
            split: splits[row].clone(),
            line,
            source,
        });
    }
    Ok(Manifest {
        path: path.to_path_buf(),
        clips,
    })
}

fn is_file_name_safe(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Manifest {
    /// The clips of `split`, in manifest order.
    pub fn select(&self, split: Split) -> Result<Vec<&ManifestClip>, EvalError> {
        let chosen: Vec<&ManifestClip> = self
            .clips
            .iter()
            .filter(|c| split.includes(&c.split))
            .collect();
        if chosen.is_empty() {
            return Err(EvalError::EmptySelection {
                path: self.path.clone(),
                split: split.as_str().into(),
            });
        }
        Ok(chosen)
    }

    /// Finds every chosen clip's audio, or lists all that are missing.
    pub fn resolve(
        &self,
        chosen: &[&ManifestClip],
        cache_dir: &Path,
        split: Split,
    ) -> Result<Vec<ResolvedClip>, EvalError> {
        let mut resolved = Vec::with_capacity(chosen.len());
        let mut missing = Vec::new();
        let mut missing_packaged = false;
        for clip in chosen {
            let audio = match &clip.source {
                ClipSource::Package { .. } => {
                    let path = cache_dir
                        .join("clips")
                        .join(format!("{}.wav", clip.clip_id));
                    if !path.is_file() {
                        missing.push(format!("  {} ({})", clip.clip_id, path.display()));
                        missing_packaged = true;
                    }
                    ClipAudio::Cut { path }
                }
                ClipSource::Local {
                    paths,
                    start_s,
                    duration_s,
                } => {
                    for p in paths.iter().filter(|p| !p.is_file()) {
                        missing.push(format!("  {} ({})", clip.clip_id, p.display()));
                    }
                    ClipAudio::Local {
                        paths: paths.clone(),
                        start_s: *start_s,
                        duration_s: *duration_s,
                    }
                }
            };
            resolved.push(ResolvedClip {
                clip_id: clip.clip_id.clone(),
                genre: clip.genre.clone(),
                audio,
            });
        }
        if missing.is_empty() {
            return Ok(resolved);
        }
        let count = missing.len();
        let mut listing: Vec<String> = missing.into_iter().take(MISSING_LISTED).collect();
        if count > MISSING_LISTED {
            listing.push(format!("  … and {} more", count - MISSING_LISTED));
        }
        let hint = if missing_packaged {
            let only = match split {
                Split::All => String::new(),
                s => format!(" --only-split {}", s.as_str()),
            };
            format!(
                "Fetch and cut them with: training-data-manifest/fetch --manifest {} --cache {}{only}",
                self.path.display(),
                cache_dir.display()
            )
        } else {
            "Local paths are read relative to the manifest's folder; fix the paths or restore the files."
                .into()
        };
        Err(EvalError::MissingClips {
            manifest: self.path.clone(),
            count,
            listing: listing.join("\n"),
            hint,
        })
    }
}

/// Decodes a clip: a cut clip whole; a local clip's stems decoded, summed and
/// cut to `start_s … start_s + duration_s` (sample positions rounded).
pub fn load_clip(clip: &ResolvedClip, options: &DecodeOptions) -> Result<AudioBuffer, EvalError> {
    let decode = |path: &Path| {
        decode_file(path, options)
            .map(|d| d.buffer)
            .map_err(|source| EvalError::Decode {
                clip_id: clip.clip_id.clone(),
                path: path.to_path_buf(),
                source,
            })
    };
    let audio_err = |detail: String| EvalError::ClipAudio {
        clip_id: clip.clip_id.clone(),
        detail,
    };
    match &clip.audio {
        ClipAudio::Cut { path } => decode(path),
        ClipAudio::Local {
            paths,
            start_s,
            duration_s,
        } => {
            let mut sum: Option<AudioBuffer> = None;
            for path in paths {
                let stem = decode(path)?;
                sum = Some(match sum {
                    None => stem,
                    Some(acc) => add_stem(acc, &stem)
                        .map_err(|d| audio_err(format!("stem {}: {d}", path.display())))?,
                });
            }
            let whole = sum.ok_or_else(|| audio_err("no stems".into()))?;
            cut(&whole, *start_s, *duration_s).map_err(audio_err)
        }
    }
}

/// Sample-wise sum; stems must share rate and channel count, and the sum is
/// as long as the longest (a shorter stem is silent after its end).
fn add_stem(acc: AudioBuffer, stem: &AudioBuffer) -> Result<AudioBuffer, String> {
    if acc.sample_rate() != stem.sample_rate() || acc.num_channels() != stem.num_channels() {
        return Err(format!(
            "{} Hz × {} ch does not match the first stem's {} Hz × {} ch",
            stem.sample_rate(),
            stem.num_channels(),
            acc.sample_rate(),
            acc.num_channels()
        ));
    }
    let rate = acc.sample_rate();
    let mut channels = acc.into_channels();
    for (out, add) in channels.iter_mut().zip(stem.channels()) {
        if out.len() < add.len() {
            out.resize(add.len(), 0.0);
        }
        for (o, a) in out.iter_mut().zip(add) {
            *o += a;
        }
    }
    AudioBuffer::new(rate, channels).map_err(|e| e.to_string())
}

fn cut(whole: &AudioBuffer, start_s: f64, duration_s: f64) -> Result<AudioBuffer, String> {
    let rate = f64::from(whole.sample_rate());
    let start = (start_s * rate).round() as usize;
    let frames = (duration_s * rate).round() as usize;
    let end = start.saturating_add(frames);
    if frames == 0 || end > whole.len() {
        return Err(format!(
            "the clip {start_s} s + {duration_s} s ends after the audio ({:.3} s)",
            whole.duration_seconds()
        ));
    }
    let channels = whole
        .channels()
        .iter()
        .map(|c| c[start..end].to_vec())
        .collect();
    AudioBuffer::new(whole.sample_rate(), channels).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "clip_id,package,version,path,start_s,duration_s,sha256,genre,licence,source_track_id,split,evidence,kind\n";

    fn write_manifest(dir: &Path, rows: &str) -> PathBuf {
        let path = dir.join("m.csv");
        std::fs::write(&path, format!("{HEADER}{rows}")).unwrap();
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lacquer-eval-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_package_and_local_rows_with_quoted_commas() {
        let dir = temp_dir("read");
        let path = write_manifest(
            &dir,
            "p--a--c0,pkg,1.0,usr/a.ogg,1.0,10.0,aa,ambient,GPL,t1,test,\"tag, credits\",real\n\
             l--b--c0,,,audio/b.flac + audio/c.flac,0.5,2.0,,electronic,mine,t2,train,folder,real\n",
        );
        let m = read_manifest(&path).unwrap();
        assert_eq!(m.clips.len(), 2);
        assert_eq!(
            m.clips[0].source,
            ClipSource::Package {
                package: "pkg".into()
            }
        );
        assert_eq!(m.clips[0].genre, "ambient");
        assert_eq!(
            m.clips[1].source,
            ClipSource::Local {
                paths: vec![dir.join("audio/b.flac"), dir.join("audio/c.flac")],
                start_s: 0.5,
                duration_s: 2.0
            }
        );
        assert_eq!(m.clips[1].line, 3);
        assert_eq!(m.select(Split::Test).unwrap().len(), 1);
        assert_eq!(m.select(Split::All).unwrap().len(), 2);
        assert!(matches!(
            m.select(Split::Val),
            Err(EvalError::EmptySelection { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_rows_name_their_line() {
        let dir = temp_dir("bad");
        let cases = [
            ("../x,,,a.wav,0,1,,g,l,t,test,e,real\n", "clip_id"),
            ("a,,,a.wav,0,1,,g,l,t,holdout,e,real\n", "split"),
            ("a,,,a.wav,zero,1,,g,l,t,test,e,real\n", "start_s"),
            ("a,,,a.wav,0,0,,g,l,t,test,e,real\n", "duration_s"),
            ("a,,,a.wav,0,1,,,l,t,test,e,real\n", "genre"),
            ("a,,,x.pk3!/a.ogg,0,1,,g,l,t,test,e,real\n", "archive"),
            (
                "a,,,a.wav,0,1,,g,l,t,test,e,real\na,,,a.wav,0,1,,g,l,t,test,e,real\n",
                "repeats",
            ),
        ];
        for (rows, needle) in cases {
            let path = write_manifest(&dir, rows);
            let err = read_manifest(&path).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("line ") && text.contains(needle), "{text}");
            assert!(err.is_invalid_input());
        }
        std::fs::write(dir.join("cols.csv"), "clip_id,genre\na,b\n").unwrap();
        let err = read_manifest(&dir.join("cols.csv")).unwrap_err();
        assert!(
            err.to_string()
                .contains("package, path, start_s, duration_s, split"),
            "{err}"
        );
        let err = read_manifest(&dir.join("absent.csv")).unwrap_err();
        assert!(err.to_string().contains("absent.csv"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_clips_are_listed_with_the_fetch_command() {
        let dir = temp_dir("missing");
        let path = write_manifest(
            &dir,
            "p--a--c0,pkg,1.0,usr/a.ogg,1.0,10.0,aa,ambient,GPL,t1,test,e,real\n\
             l--b--c0,,,nothere.flac,0.5,2.0,,electronic,mine,t2,test,folder,real\n",
        );
        let m = read_manifest(&path).unwrap();
        let chosen = m.select(Split::Test).unwrap();
        let cache = dir.join("cache");
        let err = m.resolve(&chosen, &cache, Split::Test).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2 clip(s)"), "{text}");
        assert!(
            text.contains("p--a--c0") && text.contains("nothere.flac"),
            "{text}"
        );
        assert!(
            text.contains("training-data-manifest/fetch --manifest"),
            "{text}"
        );
        assert!(text.contains("--only-split test"), "{text}");

        std::fs::create_dir_all(cache.join("clips")).unwrap();
        std::fs::write(cache.join("clips/p--a--c0.wav"), b"").unwrap();
        std::fs::write(dir.join("nothere.flac"), b"").unwrap();
        let ok = m.resolve(&chosen, &cache, Split::Test).unwrap();
        assert_eq!(
            ok[0].audio,
            ClipAudio::Cut {
                path: cache.join("clips/p--a--c0.wav")
            }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stems_are_summed_and_the_cut_is_sample_exact() {
        let rate = 1000;
        let ramp: Vec<f32> = (0..3000).map(|i| i as f32).collect();
        let ones = vec![1.0_f32; 2000];
        let a = AudioBuffer::stereo(rate, ramp.clone(), ramp).unwrap();
        let b = AudioBuffer::stereo(rate, ones.clone(), ones).unwrap();
        let sum = add_stem(a, &b).unwrap();
        assert_eq!(sum.len(), 3000);
        assert_eq!(sum.channel(0)[1999], 2000.0);
        assert_eq!(sum.channel(1)[2000], 2000.0);
        let clip = cut(&sum, 0.5, 1.25).unwrap();
        assert_eq!(clip.len(), 1250);
        assert_eq!(clip.channel(0)[0], 501.0);
        assert_eq!(clip.channel(0)[1249], 1750.0);
        assert!(cut(&sum, 2.5, 1.0).unwrap_err().contains("ends after"));
        let other_rate = AudioBuffer::stereo(2000, vec![0.0; 10], vec![0.0; 10]).unwrap();
        assert!(add_stem(sum, &other_rate).is_err());
    }
}
