//! Atomic, non-clobbering file output.
//!
//! A mastering run can take a while and may be interrupted; a half-written
//! WAV looks like a valid but truncated master, which is worse than no file.
//! So the bytes go to a temporary file in the destination directory (same
//! filesystem, so the final rename is atomic), are fsynced, and only then
//! take the real name. An existing file is replaced only on request, and the
//! input file is never a valid destination.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use lacquer_core::AudioBuffer;

use crate::IoError;
use crate::encode::{OutputFormat, encode_to_vec};

/// Whether an existing output file may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    Refuse,
    Allow,
}

/// Encodes and writes atomically. On any error no new file is left behind
/// and an existing file at `path` is untouched. This function does not know
/// the input path: callers check it first with [`ensure_output_is_not_input`].
pub fn write_file(
    buffer: &AudioBuffer,
    path: &Path,
    format: OutputFormat,
    overwrite: Overwrite,
) -> Result<(), IoError> {
    // Fail fast, before the encode, if the destination is taken.
    if overwrite == Overwrite::Refuse && path.exists() {
        return Err(IoError::OutputExists {
            path: path.to_path_buf(),
        });
    }
    let bytes = encode_to_vec(buffer, format)?;
    write_bytes_atomically(&bytes, path, overwrite)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub fn write_bytes_atomically(
    bytes: &[u8],
    path: &Path,
    overwrite: Overwrite,
) -> Result<(), IoError> {
    let mut file = StagedFile::create(path)?;
    file.write_all(bytes).map_err(|source| IoError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    file.commit(overwrite)
}

/// A file written under a hidden temporary name in its destination's
/// directory (same filesystem, so the final rename is atomic) and given its
/// real name only by [`StagedFile::commit`]; dropped uncommitted, it is
/// removed. Lets a master of any length be written as it is made without
/// a partial file ever bearing the output's name.
#[derive(Debug)]
pub struct StagedFile {
    path: PathBuf,
    dir: PathBuf,
    tmp_path: PathBuf,
    file: Option<std::io::BufWriter<File>>,
    guard: TempGuard,
    written: u64,
}

impl StagedFile {
    /// Opens the temporary file for `path`.
    pub fn create(path: &Path) -> Result<Self, IoError> {
        let write_err = |source: std::io::Error| IoError::Write {
            path: path.to_path_buf(),
            source,
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| write_err(std::io::Error::other("the output path has no file name")))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tmp_path, file) = create_temp(&dir, file_name).map_err(write_err)?;
        Ok(Self {
            path: path.to_path_buf(),
            dir,
            guard: TempGuard(Some(tmp_path.clone())),
            tmp_path,
            file: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
            written: 0,
        })
    }

    /// Where the bytes are until the commit (for reading them back: flush
    /// first).
    pub fn temp_path(&self) -> &Path {
        &self.tmp_path
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Syncs the data and gives the file its real name (replacing an
    /// existing file only when `overwrite` allows; atomically refused
    /// otherwise).
    pub fn commit(mut self, overwrite: Overwrite) -> Result<(), IoError> {
        let path = self.path.clone();
        let write_err = |source: std::io::Error| IoError::Write {
            path: path.clone(),
            source,
        };
        let file = self
            .file
            .take()
            .ok_or_else(|| write_err(std::io::Error::other("already committed")))?;
        let file = file.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        let tmp_path = &self.tmp_path;
        match overwrite {
            Overwrite::Allow => fs::rename(tmp_path, &path).map_err(write_err)?,
            Overwrite::Refuse => {
                // A hard link fails atomically if the name is taken, closing
                // the gap between an existence check and a rename.
                match fs::hard_link(tmp_path, &path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        return Err(IoError::OutputExists { path });
                    }
                    Err(_) => {
                        // Filesystems without hard links: best effort.
                        if path.exists() {
                            return Err(IoError::OutputExists { path });
                        }
                        fs::rename(tmp_path, &path).map_err(write_err)?;
                    }
                }
            }
        }
        // Renamed: nothing left to remove (after a hard link, the guard
        // removes the temporary name).
        if overwrite == Overwrite::Allow {
            self.guard.0 = None;
        }
        // Persist the directory entry too; not every platform can open a
        // directory for syncing, and the data itself is already durable.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl std::io::Seek for StagedFile {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("already committed"))?
            .seek(pos)
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("already committed"))?;
        let n = file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Removes the temporary file on every exit path (a no-op once renamed).
#[derive(Debug)]
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".lacquer-tmp-{pid}-{n}"));
        let candidate = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => return Ok((candidate, f)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "could not create a unique temporary file",
    ))
}

/// Refuses an output path that names the same file as the input (after
/// resolving symlinks and `..`). The output need not exist yet.
pub fn ensure_output_is_not_input(input: &Path, output: &Path) -> Result<(), IoError> {
    if same_file(input, output) {
        Err(IoError::OutputIsInput {
            path: output.to_path_buf(),
        })
    } else {
        Ok(())
    }
}

/// True if both paths resolve to the same file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (resolve(a), resolve(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Canonicalises a path whose final component may not exist yet.
fn resolve(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let name = p.file_name()?;
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?.canonicalize().ok()?,
    };
    Some(parent.join(name))
}
