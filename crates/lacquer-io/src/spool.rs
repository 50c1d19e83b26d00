//! Audio held between two passes of the pipeline, in memory while it is
//! short and in an anonymous temporary file once it is long.
//!
//! Mastering reads the same audio several times (analysis, the chain, each
//! pass of the loudness loop), so a long input must be kept somewhere; RAM
//! would grow with its length (a 60-minute stereo f32 track is 635 MB per
//! copy). A spool starts in memory and spills to a temporary file (f32
//! frames, interleaved) past a set number of frames, after which its
//! memory stays at one block whatever the length. The file has no name (it
//! vanishes with the process, even on a crash) and lives in the system's
//! temporary directory (`TMPDIR`). The page cache keeps re-reading cheap.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use lacquer_core::AudioBuffer;

use crate::IoError;

/// Frames a spool keeps in memory before it spills to disk by default:
/// 6 minutes at 44.1 kHz (127 MB of stereo f32). A few spools are alive at
/// once, so this bounds the engine's memory for any length.
pub const DEFAULT_SPILL_FRAMES: usize = 6 * 60 * 44_100;
/// Frames [`Spool::for_each_piece`] reads from a spool on disk at a time
/// (256 KB of stereo f32 per read: large enough to amortise the read, small
/// next to any budget).
pub const DISK_BLOCK_FRAMES: usize = 1 << 16;
/// Bytes per stored sample.
const SAMPLE_BYTES: usize = 4;

/// Fills a spool, piece by piece.
#[derive(Debug)]
pub struct SpoolWriter {
    rate_hz: u32,
    channels: usize,
    spill_frames: usize,
    frames: usize,
    memory: Vec<Vec<f32>>,
    file: Option<BufWriter<File>>,
    /// Interleaving scratch for the file.
    bytes: Vec<u8>,
}

fn temp_error(source: std::io::Error) -> IoError {
    IoError::Write {
        path: std::env::temp_dir(),
        source,
    }
}

impl SpoolWriter {
    /// A spool of `channels` planes at `rate_hz` that moves to a temporary
    /// file once it holds more than `spill_frames` frames (0: from the start).
    pub fn new(rate_hz: u32, channels: usize, spill_frames: usize) -> Self {
        Self {
            rate_hz,
            channels,
            spill_frames,
            frames: 0,
            memory: vec![Vec::new(); channels],
            file: None,
            bytes: Vec::new(),
        }
    }

    /// Appends one piece (a slice per channel, equal lengths).
    pub fn push(&mut self, planes: &[&[f32]]) -> Result<(), IoError> {
        debug_assert_eq!(planes.len(), self.channels);
        let frames = planes.first().map_or(0, |p| p.len());
        if self.file.is_none() && self.frames + frames > self.spill_frames {
            self.spill()?;
        }
        match &mut self.file {
            None => {
                for (dst, src) in self.memory.iter_mut().zip(planes) {
                    // Grow by doubling, but never past the spill point: the
                    // planes' slack stays within what the threshold allows.
                    let needed = dst.len() + src.len();
                    if needed > dst.capacity() {
                        let grown =
                            (2 * dst.capacity()).clamp(needed, self.spill_frames.max(needed));
                        dst.reserve_exact(grown - dst.len());
                    }
                    dst.extend_from_slice(src);
                }
            }
            Some(file) => {
                interleave_into(planes, &mut self.bytes);
                file.write_all(&self.bytes).map_err(temp_error)?;
            }
        }
        self.frames += frames;
        Ok(())
    }

    /// Moves what is in memory to a new temporary file.
    fn spill(&mut self) -> Result<(), IoError> {
        let file = tempfile::tempfile().map_err(temp_error)?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        let memory = std::mem::take(&mut self.memory);
        let planes: Vec<&[f32]> = memory.iter().map(Vec::as_slice).collect();
        const STEP: usize = 1 << 16;
        for start in (0..self.frames).step_by(STEP) {
            let end = (start + STEP).min(self.frames);
            let piece: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
            interleave_into(&piece, &mut self.bytes);
            file.write_all(&self.bytes).map_err(temp_error)?;
        }
        self.file = Some(file);
        Ok(())
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Reserves memory for `frames` frames up front when they will stay in
    /// memory (the length is known: no slack, no copies while growing).
    pub fn expecting(mut self, frames: usize) -> Self {
        if self.file.is_none() && frames <= self.spill_frames {
            for plane in &mut self.memory {
                plane.reserve_exact(frames.saturating_sub(plane.len()));
            }
        }
        self
    }

    /// Sets the rate, for a writer opened before the rate was known.
    pub fn with_sample_rate(mut self, rate_hz: u32) -> Self {
        self.rate_hz = rate_hz;
        self
    }

    pub fn finish(self) -> Result<Spool, IoError> {
        let storage = match self.file {
            None => {
                let mut memory = self.memory;
                for plane in &mut memory {
                    plane.shrink_to_fit();
                }
                Storage::Memory(Arc::new(memory))
            }
            Some(file) => Storage::File(Arc::new(
                file.into_inner().map_err(|e| temp_error(e.into_error()))?,
            )),
        };
        Ok(Spool {
            rate_hz: self.rate_hz,
            channels: self.channels,
            frames: self.frames,
            storage,
        })
    }
}

fn interleave_into(planes: &[&[f32]], bytes: &mut Vec<u8>) {
    let frames = planes.first().map_or(0, |p| p.len());
    bytes.clear();
    bytes.reserve(frames * planes.len() * SAMPLE_BYTES);
    for i in 0..frames {
        for plane in planes {
            bytes.extend_from_slice(&plane[i].to_le_bytes());
        }
    }
}

/// Audio stored for later passes. Read-only once written, so clones share
/// the storage (the memory or the file goes when the last clone does).
#[derive(Debug, Clone)]
pub struct Spool {
    rate_hz: u32,
    channels: usize,
    frames: usize,
    storage: Storage,
}

#[derive(Debug, Clone)]
enum Storage {
    Memory(Arc<Vec<Vec<f32>>>),
    File(Arc<File>),
}

impl From<AudioBuffer> for Spool {
    fn from(buffer: AudioBuffer) -> Self {
        Self::from_buffer(buffer)
    }
}

impl Spool {
    /// A spool holding `buffer` in memory.
    pub fn from_buffer(buffer: AudioBuffer) -> Self {
        Self {
            rate_hz: buffer.sample_rate(),
            channels: buffer.num_channels(),
            frames: buffer.len(),
            storage: Storage::Memory(Arc::new(buffer.into_channels())),
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate_hz
    }

    pub fn num_channels(&self) -> usize {
        self.channels
    }

    pub fn len(&self) -> usize {
        self.frames
    }

    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Whether the audio went to a temporary file.
    pub fn is_on_disk(&self) -> bool {
        matches!(self.storage, Storage::File(_))
    }

    /// Calls `f` on consecutive pieces covering the audio, in order, as
    /// cheaply as the storage allows: one piece in memory, blocks of
    /// [`DISK_BLOCK_FRAMES`] on disk. Stops at the first error.
    pub fn for_each_piece<E: From<IoError>>(
        &self,
        f: impl FnMut(&[&[f32]]) -> Result<(), E>,
    ) -> Result<(), E> {
        let block = if self.is_on_disk() {
            DISK_BLOCK_FRAMES
        } else {
            self.frames.max(1)
        };
        self.for_each_block(block, f)
    }

    /// Calls `f` on consecutive pieces of at most `block_frames` frames,
    /// from the start, in order (in memory: slices of the planes; on disk:
    /// one reused block). Stops at the first error.
    pub fn for_each_block<E: From<IoError>>(
        &self,
        block_frames: usize,
        mut f: impl FnMut(&[&[f32]]) -> Result<(), E>,
    ) -> Result<(), E> {
        let block_frames = block_frames.max(1);
        match &self.storage {
            Storage::Memory(planes) => {
                for start in (0..self.frames).step_by(block_frames) {
                    let end = (start + block_frames).min(self.frames);
                    let piece: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
                    f(&piece)?;
                }
                Ok(())
            }
            Storage::File(file) => {
                let mut reader = FileReader::new(self.channels, block_frames);
                for start in (0..self.frames).step_by(block_frames) {
                    let end = (start + block_frames).min(self.frames);
                    reader.read(file, start, end)?;
                    let piece: Vec<&[f32]> = reader.planes.iter().map(Vec::as_slice).collect();
                    f(&piece)?;
                }
                Ok(())
            }
        }
    }

    /// A copy of frames `from..to` (clamped to the audio), one vector per
    /// channel.
    pub fn read_range(&self, from: usize, to: usize) -> Result<Vec<Vec<f32>>, IoError> {
        let to = to.min(self.frames);
        let from = from.min(to);
        match &self.storage {
            Storage::Memory(planes) => Ok(planes.iter().map(|p| p[from..to].to_vec()).collect()),
            Storage::File(file) => {
                let mut reader = FileReader::new(self.channels, to - from);
                reader.read(file, from, to)?;
                Ok(reader.planes)
            }
        }
    }

    /// The whole audio as a buffer (tests, and short audio only: this is
    /// the one call whose memory grows with the length).
    pub fn to_buffer(&self) -> Result<AudioBuffer, IoError> {
        let planes = self.read_range(0, self.frames)?;
        AudioBuffer::new(self.rate_hz, planes).map_err(|e| IoError::Encode {
            format: "spool".into(),
            detail: e.to_string(),
        })
    }
}

/// Reads interleaved frames back into planes.
struct FileReader {
    bytes: Vec<u8>,
    planes: Vec<Vec<f32>>,
}

impl FileReader {
    fn new(channels: usize, block_frames: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(block_frames * channels * SAMPLE_BYTES),
            planes: vec![Vec::with_capacity(block_frames); channels],
        }
    }

    fn read(&mut self, file: &File, from: usize, to: usize) -> Result<(), IoError> {
        let channels = self.planes.len();
        let frame_bytes = channels * SAMPLE_BYTES;
        self.bytes.resize((to - from) * frame_bytes, 0);
        file.read_exact_at(&mut self.bytes, (from * frame_bytes) as u64)
            .map_err(|source| IoError::Unreadable {
                path: std::env::temp_dir(),
                source,
            })?;
        for plane in &mut self.planes {
            plane.clear();
        }
        for frame in self.bytes.chunks_exact(frame_bytes) {
            for (plane, sample) in self.planes.iter_mut().zip(frame.chunks_exact(SAMPLE_BYTES)) {
                plane.push(f32::from_le_bytes([
                    sample[0], sample[1], sample[2], sample[3],
                ]));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(frames: usize, scale: f32) -> Vec<f32> {
        (0..frames).map(|i| i as f32 * scale).collect()
    }

    fn filled(spill_frames: usize) -> Spool {
        let (l, r) = (ramp(10_000, 1.0), ramp(10_000, -0.5));
        let mut writer = SpoolWriter::new(48_000, 2, spill_frames);
        let mut at = 0;
        for len in [1, 999, 3_000, 17, 5_983] {
            writer.push(&[&l[at..at + len], &r[at..at + len]]).unwrap();
            at += len;
        }
        assert_eq!(writer.frames(), 10_000);
        writer.finish().unwrap()
    }

    #[test]
    fn memory_and_disk_give_back_the_same_samples() {
        let in_memory = filled(usize::MAX);
        assert!(!in_memory.is_on_disk());
        for spill in [0, 1, 4_000, 9_999] {
            let on_disk = filled(spill);
            assert!(on_disk.is_on_disk(), "spill at {spill}");
            assert_eq!(on_disk.len(), 10_000);
            assert_eq!(on_disk.sample_rate(), 48_000);
            for block in [1, 333, 4_096, 20_000] {
                let collect = |s: &Spool| {
                    let mut out = vec![Vec::new(); 2];
                    s.for_each_block(block, |p: &[&[f32]]| {
                        assert!(p[0].len() <= block);
                        out[0].extend_from_slice(p[0]);
                        out[1].extend_from_slice(p[1]);
                        Ok::<(), IoError>(())
                    })
                    .unwrap();
                    out
                };
                let expected = vec![ramp(10_000, 1.0), ramp(10_000, -0.5)];
                assert_eq!(collect(&in_memory), expected, "memory, block {block}");
                assert_eq!(collect(&on_disk), expected, "disk, block {block}");
            }
            assert_eq!(
                on_disk.read_range(1234, 1240).unwrap(),
                in_memory.read_range(1234, 1240).unwrap()
            );
            assert_eq!(on_disk.read_range(9_990, 20_000).unwrap()[0].len(), 10);
        }
    }

    #[test]
    fn a_block_callback_error_stops_the_walk() {
        let spool = filled(0);
        let mut calls = 0;
        let result = spool.for_each_block(1_000, |_| {
            calls += 1;
            if calls == 3 {
                Err(IoError::Encode {
                    format: "test".into(),
                    detail: "stop".into(),
                })
            } else {
                Ok(())
            }
        });
        assert!(result.is_err());
        assert_eq!(calls, 3);
    }
}
