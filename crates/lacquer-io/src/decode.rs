//! Decoding and input validation.
//!
//! Everything downstream assumes a finite, stereo, f32 buffer of sane length
//! at a sane rate, so this is the one place where hostile or broken files are
//! turned away, each with its own error naming the file. Symphonia is pure
//! Rust but has been seen to panic on crafted data, so the whole decode runs
//! under `catch_unwind` and a panic becomes a "corrupt file" error.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use lacquer_core::AudioBuffer;
use serde::Serialize;
use symphonia::core::audio::sample::SampleFormat;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_OPUS};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::IoError;
use crate::spool::{Spool, SpoolWriter};

/// Lowest sample rate we accept (telephone-band material is the floor).
pub const MIN_SAMPLE_RATE_HZ: u32 = 8_000;
/// Highest sample rate we accept (DXD-class masters).
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
/// Narrowest integer word we accept.
pub const MIN_BITS_PER_SAMPLE: u32 = 8;
/// Widest word we accept (32-bit int or float).
pub const MAX_BITS_PER_SAMPLE: u32 = 32;
/// AAC encoders put this many priming samples in front of the audio and
/// symphonia's AAC decoder does not remove them.
const AAC_PRIMING_FRAMES: u64 = 1024;

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecodeOptions {
    /// Longer inputs are refused (memory is proportional to length).
    pub max_duration_seconds: f64,
    /// Shorter inputs are refused: loudness gating needs at least a few
    /// 400 ms blocks to mean anything.
    pub min_duration_seconds: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_duration_seconds: 1800.0,
            min_duration_seconds: 1.0,
        }
    }
}

/// What the file said about itself, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceInfo {
    pub path: PathBuf,
    /// Container short name as symphonia names it ("wave", "flac", ...).
    pub container: String,
    /// Codec short name as symphonia names it ("pcm_s16le", "mp3", ...).
    pub codec: String,
    pub sample_rate: u32,
    /// Channel count as stored in the file (the decoded buffer is stereo).
    pub channels: usize,
    /// Bits per sample for PCM-like codecs; `None` for lossy codecs.
    pub bits_per_sample: Option<u32>,
    pub frames: u64,
    pub duration_seconds: f64,
}

/// A decoded, validated input.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Always stereo (mono sources are duplicated).
    pub buffer: AudioBuffer,
    pub source: SourceInfo,
}

/// Decodes and validates an audio file. Never panics.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Decoded, IoError> {
    let mut left: Vec<f32> = Vec::new();
    let mut right: Vec<f32> = Vec::new();
    let source = decode_stream(path, opts, |l: &[f32], r: &[f32]| {
        left.extend_from_slice(l);
        right.extend_from_slice(r);
        Ok::<(), IoError>(())
    })?;
    // The planes grew by doubling; hand back the slack (up to half of each
    // plane) before the buffer lives through the whole pipeline. A
    // declared length is not trusted for reserving up front: a damaged or
    // hostile header could claim gigabytes.
    left.shrink_to_fit();
    right.shrink_to_fit();
    let buffer = AudioBuffer::stereo(source.sample_rate, left, right)
        .map_err(|e| corrupt(path, e.to_string()))?;
    Ok(Decoded { buffer, source })
}

/// Decodes and validates an audio file piece by piece, handing each piece
/// to `sink` as a stereo pair (a mono file's one channel twice) in order,
/// without holding the file: memory does not grow with its length. Every
/// check [`decode_file`] makes is made; the pieces handed out before a
/// failure are a prefix of the audio, and the failure is the result. A
/// sink error stops the decode and is returned. Never panics.
pub fn decode_stream<E: From<IoError>>(
    path: &Path,
    opts: &DecodeOptions,
    mut sink: impl FnMut(&[f32], &[f32]) -> Result<(), E>,
) -> Result<SourceInfo, E> {
    decode_stream_at_rate(path, opts, |_, l, r| sink(l, r))
}

/// [`decode_stream`], each piece with the sample rate it was decoded at
/// (known from the first piece on, where the source only says so at the
/// end).
fn decode_stream_at_rate<E: From<IoError>>(
    path: &Path,
    opts: &DecodeOptions,
    mut sink: impl FnMut(u32, &[f32], &[f32]) -> Result<(), E>,
) -> Result<SourceInfo, E> {
    let mut sink_error: Option<E> = None;
    let result = panic_to_corrupt(path, || {
        decode_unguarded(path, opts, &mut |rate: u32, l: &[f32], r: &[f32]| {
            sink(rate, l, r).map_err(|e| {
                sink_error = Some(e);
                SinkStopped
            })
        })
    });
    match (result, sink_error) {
        (_, Some(e)) => Err(e),
        (Ok(info), None) => Ok(info),
        (Err(e), None) => Err(e.into()),
    }
}

/// Decodes `path` into a [`Spool`] (in memory up to `spill_frames` frames,
/// in a temporary file beyond), handing each stereo piece to `also` as well
/// (with its sample rate, so a reader can start before the decode ends):
/// a file of any accepted length, read once, held in bounded memory for
/// the passes that read it again. Decoder errors become `E` by `From`;
/// failing to keep the audio goes through `keep_err`, so a caller can tell
/// a bad input from a full disk.
pub fn decode_to_spool<E: From<IoError>>(
    path: &Path,
    opts: &DecodeOptions,
    spill_frames: usize,
    keep_err: impl Fn(IoError) -> E,
    mut also: impl FnMut(u32, &[f32], &[f32]) -> Result<(), E>,
) -> Result<(Spool, SourceInfo), E> {
    // The rate is known once the decode is done; the spool stores samples
    // only, so it is set at the end.
    let mut writer = SpoolWriter::new(0, 2, spill_frames);
    let source = decode_stream_at_rate(path, opts, |rate, left: &[f32], right: &[f32]| {
        writer.push(&[left, right]).map_err(&keep_err)?;
        also(rate, left, right)
    })?;
    let spool = writer
        .with_sample_rate(source.sample_rate)
        .finish()
        .map_err(&keep_err)?;
    Ok((spool, source))
}

/// A sink refused a piece; its own error is kept by [`decode_stream`].
struct SinkStopped;

/// Where the packet loop hands stereo pieces.
type PieceSink<'s> = dyn FnMut(u32, &[f32], &[f32]) -> Result<(), SinkStopped> + 's;

/// Why the packet loop stopped early.
enum Stop {
    Io(IoError),
    Sink,
}

impl From<IoError> for Stop {
    fn from(e: IoError) -> Self {
        Stop::Io(e)
    }
}

/// Hands decoded frames on: drops an AAC stream's priming frames and holds
/// back the last few frames until the end, where the container's declared
/// length may cut the encoder's padding off.
struct Emitter<'s> {
    sink: &'s mut PieceSink<'s>,
    /// The stream's sample rate (set before the first piece).
    rate: u32,
    /// Frames still to drop at the start.
    skip: usize,
    /// Frames kept back (AAC only).
    hold: usize,
    held: [Vec<f32>; 2],
    /// Frames decoded (before any skip), for the length checks.
    decoded: u64,
    /// Frames handed on.
    emitted: u64,
}

impl Emitter<'_> {
    fn push(&mut self, left: &[f32], right: &[f32]) -> Result<(), SinkStopped> {
        self.decoded += left.len() as u64;
        let drop = self.skip.min(left.len());
        self.skip -= drop;
        let (left, right) = (&left[drop..], &right[drop..]);
        if self.hold == 0 {
            return self.emit(left, right);
        }
        self.held[0].extend_from_slice(left);
        self.held[1].extend_from_slice(right);
        let over = self.held[0].len().saturating_sub(self.hold);
        // Emit in pieces of at least a hold's length, not per packet.
        if over >= self.hold {
            let [l, r] = std::mem::take(&mut self.held);
            self.emit(&l[..over], &r[..over])?;
            self.held = [l[over..].to_vec(), r[over..].to_vec()];
        }
        Ok(())
    }

    fn emit(&mut self, left: &[f32], right: &[f32]) -> Result<(), SinkStopped> {
        if left.is_empty() {
            return Ok(());
        }
        self.emitted += left.len() as u64;
        (self.sink)(self.rate, left, right)
    }

    /// Hands on what was held, the last `cut` frames excepted.
    fn finish(&mut self, cut: usize) -> Result<(), SinkStopped> {
        let [l, r] = std::mem::take(&mut self.held);
        let keep = l.len().saturating_sub(cut);
        self.emit(&l[..keep], &r[..keep])
    }

    /// Frames that will have been handed on once held frames are out.
    fn total(&self) -> u64 {
        self.emitted + self.held[0].len() as u64
    }
}

/// Runs `f`, turning a panic inside it into [`IoError::Corrupt`].
fn panic_to_corrupt<T>(path: &Path, f: impl FnOnce() -> Result<T, IoError>) -> Result<T, IoError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(IoError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("decoder panicked: {detail}"),
            })
        }
    }
}

fn open(path: &Path) -> Result<File, IoError> {
    let file = File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            IoError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            IoError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let meta = file.metadata().map_err(|source| IoError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return Err(IoError::Unreadable {
            path: path.to_path_buf(),
            source: std::io::Error::other("is a directory"),
        });
    }
    if meta.len() == 0 {
        return Err(IoError::Empty {
            path: path.to_path_buf(),
            detail: "0 bytes",
        });
    }
    Ok(file)
}

fn corrupt(path: &Path, detail: impl Into<String>) -> IoError {
    IoError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn check_rate(path: &Path, sample_rate_hz: u32) -> Result<(), IoError> {
    if (MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
        Ok(())
    } else {
        Err(IoError::SampleRateOutOfRange {
            path: path.to_path_buf(),
            sample_rate_hz,
        })
    }
}

fn check_channels(path: &Path, channels: usize) -> Result<(), IoError> {
    match channels {
        1 | 2 => Ok(()),
        0 => Err(corrupt(path, "the stream declares 0 channels")),
        _ => Err(IoError::TooManyChannels {
            path: path.to_path_buf(),
            channels,
        }),
    }
}

fn too_long(path: &Path, frames: u64, rate: u32, opts: &DecodeOptions) -> IoError {
    IoError::TooLong {
        path: path.to_path_buf(),
        duration_seconds: frames as f64 / f64::from(rate),
        max_seconds: opts.max_duration_seconds,
    }
}

fn decode_unguarded(
    path: &Path,
    opts: &DecodeOptions,
    sink: &mut PieceSink<'_>,
) -> Result<SourceInfo, IoError> {
    let file = open(path)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|source| match source {
            SymphoniaError::IoError(ref e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                corrupt(path, format!("ends inside the header: {source}"))
            }
            _ => IoError::UnsupportedFormat {
                path: path.to_path_buf(),
                source,
            },
        })?;
    let container = format.format_info().short_name.to_owned();

    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| IoError::UnsupportedCodec {
            path: path.to_path_buf(),
            detail: "no audio track".to_owned(),
        })?
        .clone();
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| IoError::UnsupportedCodec {
            path: path.to_path_buf(),
            detail: "the audio track has no codec parameters".to_owned(),
        })?
        .clone();

    // Validate what the header declares before spending time decoding.
    if let Some(rate) = params.sample_rate {
        check_rate(path, rate)?;
    }
    if let Some(channels) = params.channels.as_ref() {
        check_channels(path, channels.count())?;
    }
    if let (Some(rate), Some(frames)) = (params.sample_rate, track.num_frames)
        && frames as f64 > opts.max_duration_seconds * f64::from(rate)
    {
        return Err(too_long(path, frames, rate, opts));
    }

    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| IoError::UnsupportedCodec {
            path: path.to_path_buf(),
            detail: if params.codec == CODEC_ID_OPUS {
                // Common in game and web audio; say what to do about it.
                "Opus cannot be decoded yet; convert the file to FLAC or WAV first".to_owned()
            } else {
                e.to_string()
            },
        })?;
    let codec = decoder.codec_info().short_name.to_owned();
    // Float PCM often declares no bit depth; its codec name carries it.
    let bits_per_sample = params
        .bits_per_sample
        .or_else(|| params.sample_format.map(format_bits))
        .or_else(|| pcm_name_bits(&codec));
    if let Some(bits) = bits_per_sample
        && !(MIN_BITS_PER_SAMPLE..=MAX_BITS_PER_SAMPLE).contains(&bits)
    {
        return Err(IoError::BitDepthOutOfRange {
            path: path.to_path_buf(),
            bits,
        });
    }

    let is_aac = params.codec == CODEC_ID_AAC;
    let mut emitter = Emitter {
        sink,
        skip: if is_aac {
            track.delay.map_or(AAC_PRIMING_FRAMES, u64::from) as usize
        } else {
            0
        },
        hold: if is_aac {
            2 * AAC_PRIMING_FRAMES as usize
        } else {
            0
        },
        held: [Vec::new(), Vec::new()],
        rate: 0,
        decoded: 0,
        emitted: 0,
    };
    let skip = emitter.skip;
    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut file_channels = 0usize;
    let mut scratch: Vec<Vec<f32>> = Vec::new();
    let mut max_frames: Option<u64> = None;
    let seconds = |frames: u64, rate: u32| {
        if rate > 0 {
            frames as f64 / f64::from(rate)
        } else {
            0.0
        }
    };

    let mut packets = || -> Result<(), Stop> {
        loop {
            let packet = match format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(()),
                Err(SymphoniaError::ResetRequired) => {
                    return Err(IoError::UnsupportedFormat {
                        path: path.to_path_buf(),
                        source: SymphoniaError::Unsupported("chained streams"),
                    }
                    .into());
                }
                Err(e) => {
                    let at = seconds(emitter.decoded, sample_rate);
                    return Err(corrupt(path, format!("demuxing failed at {at:.3} s: {e}")).into());
                }
            };
            if packet.track_id != track.id {
                continue;
            }
            let decoded = decoder.decode(&packet).map_err(|e| {
                let at = seconds(emitter.decoded, sample_rate);
                corrupt(path, format!("decoding failed at {at:.3} s: {e}"))
            })?;
            let spec = decoded.spec();
            let rate = spec.rate();
            let count = spec.channels().count();
            if file_channels == 0 {
                check_rate(path, rate)?;
                check_channels(path, count)?;
                sample_rate = rate;
                emitter.rate = rate;
                file_channels = count;
                max_frames = Some((opts.max_duration_seconds * f64::from(rate)).floor() as u64);
            } else if rate != sample_rate || count != file_channels {
                return Err(
                    corrupt(path, "sample rate or channel layout changes mid-stream").into(),
                );
            }
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            decoded.copy_to_vecs_planar::<f32>(&mut scratch);
            let planes: Vec<&[f32]> = scratch
                .iter()
                .map(|c| c.get(..frames))
                .collect::<Option<_>>()
                .ok_or_else(|| corrupt(path, "decoder returned a short plane"))?;
            check_finite(path, &planes, emitter.decoded, sample_rate)?;
            let (left, right) = (planes[0], planes[planes.len() - 1]);
            if let Some(limit) = max_frames
                && emitter.decoded + frames as u64 > limit.saturating_add(AAC_PRIMING_FRAMES)
            {
                return Err(
                    too_long(path, emitter.decoded + frames as u64, sample_rate, opts).into(),
                );
            }
            emitter
                .push(left, right)
                .map_err(|SinkStopped| Stop::Sink)?;
        }
    };
    let stopped = packets();
    match stopped {
        Ok(()) => {}
        Err(Stop::Io(e)) => return Err(e),
        // The caller has the sink's own error; this one is never shown.
        Err(Stop::Sink) => return Err(corrupt(path, "stopped by the caller")),
    }

    // The encoder pads the last AAC frame; the container's declared length
    // (priming included) says where the music ends. Trust it only when it
    // cuts less than two frames, i.e. when it is plainly the padding and not
    // a damaged header.
    let mut cut = 0usize;
    if is_aac {
        let decoded = emitter.total();
        if let Some(declared) = track.num_frames
            && let Some(keep) = declared.checked_sub(skip as u64)
            && keep < decoded
            && decoded - keep < 2 * AAC_PRIMING_FRAMES
        {
            cut = (decoded - keep) as usize;
        }
    }
    let frames = emitter.total() - cut as u64;
    // Lossless containers state their exact length; fewer frames than that
    // means the file was cut short or frames were skipped as unreadable.
    if is_lossless(&codec)
        && let Some(declared) = track.num_frames
        && frames > 0
        && frames < declared
    {
        return Err(corrupt(
            path,
            format!("truncated: the header declares {declared} frames, only {frames} decoded"),
        ));
    }
    if frames == 0 {
        return Err(IoError::Empty {
            path: path.to_path_buf(),
            detail: "no audio frames",
        });
    }
    let duration_seconds = frames as f64 / f64::from(sample_rate);
    if duration_seconds > opts.max_duration_seconds {
        return Err(too_long(path, frames, sample_rate, opts));
    }
    if duration_seconds < opts.min_duration_seconds {
        return Err(IoError::TooShort {
            path: path.to_path_buf(),
            duration_seconds,
            min_seconds: opts.min_duration_seconds,
        });
    }
    emitter
        .finish(cut)
        .map_err(|SinkStopped| corrupt(path, "stopped by the caller"))?;

    Ok(SourceInfo {
        path: path.to_path_buf(),
        container,
        codec,
        sample_rate,
        channels: file_channels,
        bits_per_sample,
        frames,
        duration_seconds,
    })
}

fn format_bits(format: SampleFormat) -> u32 {
    match format {
        SampleFormat::U8 | SampleFormat::S8 => 8,
        SampleFormat::U16 | SampleFormat::S16 => 16,
        SampleFormat::U24 | SampleFormat::S24 => 24,
        SampleFormat::U32 | SampleFormat::S32 | SampleFormat::F32 => 32,
        SampleFormat::F64 => 64,
    }
}

fn is_lossless(codec: &str) -> bool {
    codec.starts_with("pcm") || codec == "flac" || codec == "alac"
}

/// "pcm_f64le" → 64, "pcm_s24be" → 24; `None` for other codecs.
fn pcm_name_bits(codec: &str) -> Option<u32> {
    let rest = codec.strip_prefix("pcm_")?;
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Reports the earliest non-finite sample of a piece over all channels
/// (`offset`: frames decoded before it).
fn check_finite(path: &Path, planes: &[&[f32]], offset: u64, rate: u32) -> Result<(), IoError> {
    let earliest = planes
        .iter()
        .enumerate()
        .filter_map(|(ch, samples)| {
            samples
                .iter()
                .position(|s| !s.is_finite())
                .map(|frame| (frame, ch, samples[frame]))
        })
        .min_by_key(|&(frame, ch, _)| (frame, ch));
    match earliest {
        None => Ok(()),
        Some((frame, channel, value)) => Err(IoError::NonFiniteSample {
            path: path.to_path_buf(),
            channel,
            time_seconds: (offset + frame as u64) as f64 / f64::from(rate),
            value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_decoding_becomes_a_corrupt_file_error() {
        let path = Path::new("hostile.mp3");
        let result: Result<(), IoError> =
            panic_to_corrupt(path, || panic!("index out of bounds in a decoder"));
        match result {
            Err(e @ IoError::Corrupt { .. }) => {
                let text = e.to_string();
                assert!(text.contains("hostile.mp3"), "{text}");
                assert!(text.contains("index out of bounds"), "{text}");
                assert!(e.is_invalid_input());
            }
            other => panic!("{other:?}"),
        }
        let formatted: Result<(), IoError> = panic_to_corrupt(path, || panic!("bad frame {}", 7));
        assert!(formatted.is_err_and(|e| e.to_string().contains("bad frame 7")));
    }

    #[test]
    fn pcm_codec_names_give_their_word_length() {
        assert_eq!(pcm_name_bits("pcm_f64le"), Some(64));
        assert_eq!(pcm_name_bits("pcm_s24be"), Some(24));
        assert_eq!(pcm_name_bits("mp3"), None);
    }
}
