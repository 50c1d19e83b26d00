//! Encoding a finished master to bytes.
//!
//! Encoders work into memory first so that a failure can never leave a
//! half-written file behind (see `write`). Integer outputs go through our own
//! TPDF dither (see `dither`) rather than each library's rounding, so every
//! format shares one deterministic word-length policy.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use lacquer_core::AudioBuffer;

use crate::IoError;
use crate::dither::{ChannelQuantizer, Dither, is_on_grid};

/// Sample encoding inside a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WavEncoding {
    Pcm16,
    Pcm24,
    Float32,
}

/// FLAC word length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlacDepth {
    Bits16,
    Bits24,
}

/// MP3 rate-control mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mp3Mode {
    /// Constant 320 kbit/s.
    Cbr320,
    /// LAME's highest-quality VBR preset (~245 kbit/s on music).
    V0,
}

/// A complete choice of output file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Wav(WavEncoding),
    Flac(FlacDepth),
    Mp3(Mp3Mode),
}

impl OutputFormat {
    /// File extension without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            Self::Wav(_) => "wav",
            Self::Flac(_) => "flac",
            Self::Mp3(_) => "mp3",
        }
    }

    /// Integer word length written, or `None` for float and lossy outputs.
    pub fn bits_per_sample(&self) -> Option<u32> {
        match self {
            Self::Wav(WavEncoding::Pcm16) | Self::Flac(FlacDepth::Bits16) => Some(16),
            Self::Wav(WavEncoding::Pcm24) | Self::Flac(FlacDepth::Bits24) => Some(24),
            Self::Wav(WavEncoding::Float32) | Self::Mp3(_) => None,
        }
    }

    /// Every supported format, in a stable order (for CLI help and tests).
    pub const ALL: [OutputFormat; 7] = [
        Self::Wav(WavEncoding::Pcm16),
        Self::Wav(WavEncoding::Pcm24),
        Self::Wav(WavEncoding::Float32),
        Self::Flac(FlacDepth::Bits16),
        Self::Flac(FlacDepth::Bits24),
        Self::Mp3(Mp3Mode::Cbr320),
        Self::Mp3(Mp3Mode::V0),
    ];
}

impl fmt::Display for OutputFormat {
    /// The same spelling `FromStr` accepts, e.g. `wav24`, `flac16`, `mp3-v0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wav(WavEncoding::Pcm16) => "wav16",
            Self::Wav(WavEncoding::Pcm24) => "wav24",
            Self::Wav(WavEncoding::Float32) => "wav32f",
            Self::Flac(FlacDepth::Bits16) => "flac16",
            Self::Flac(FlacDepth::Bits24) => "flac24",
            Self::Mp3(Mp3Mode::Cbr320) => "mp3-320",
            Self::Mp3(Mp3Mode::V0) => "mp3-v0",
        })
    }
}

/// Serialised as its `Display` name (e.g. `"flac24"`), for reports.
impl serde::Serialize for OutputFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Why an output format name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown output format `{0}` (expected one of: wav16, wav24, wav32f, flac16, flac24, mp3-320, mp3-v0)"
)]
pub struct ParseFormatError(pub String);

impl FromStr for OutputFormat {
    type Err = ParseFormatError;

    /// Case-insensitive; also accepts the bare family names with a sensible
    /// default (`wav` = 24-bit, `flac` = 24-bit, `mp3` = 320 kbit/s).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_ascii_lowercase();
        Ok(match key.as_str() {
            "wav16" => Self::Wav(WavEncoding::Pcm16),
            "wav24" | "wav" => Self::Wav(WavEncoding::Pcm24),
            "wav32f" | "wav32" | "wavf32" => Self::Wav(WavEncoding::Float32),
            "flac16" => Self::Flac(FlacDepth::Bits16),
            "flac24" | "flac" => Self::Flac(FlacDepth::Bits24),
            "mp3-320" | "mp3" | "mp3-cbr320" => Self::Mp3(Mp3Mode::Cbr320),
            "mp3-v0" | "mp3v0" => Self::Mp3(Mp3Mode::V0),
            _ => return Err(ParseFormatError(s.to_owned())),
        })
    }
}

/// Sample rates an MPEG-1/2/2.5 layer III stream can carry.
const MP3_RATES_HZ: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];
/// FLAC frames of 4096 samples: the reference encoder's default, a good
/// compression/seek trade-off at every rate we accept.
const FLAC_BLOCK_SIZE: usize = 4096;
/// Upper bound of one flushed MP3 frame set, from the LAME documentation.
const LAME_FLUSH_RESERVE_BYTES: usize = 7200;

/// Encodes a buffer into the bytes of a complete file, with the default
/// dither policy (TPDF whenever word length is reduced).
pub fn encode_to_vec(buffer: &AudioBuffer, format: OutputFormat) -> Result<Vec<u8>, IoError> {
    encode_to_vec_with_dither(buffer, format, Dither::Auto)
}

/// As [`encode_to_vec`] with an explicit dither choice (ignored for float
/// and MP3 outputs, which do not reduce word length here).
pub fn encode_to_vec_with_dither(
    buffer: &AudioBuffer,
    format: OutputFormat,
    dither: Dither,
) -> Result<Vec<u8>, IoError> {
    check_encodable(buffer, format)?;
    match format {
        OutputFormat::Wav(encoding) => encode_wav(buffer, encoding, dither),
        OutputFormat::Flac(depth) => encode_flac(buffer, depth, dither),
        OutputFormat::Mp3(mode) => encode_mp3(buffer, mode),
    }
}

fn encode_error(format: OutputFormat, detail: impl fmt::Display) -> IoError {
    IoError::Encode {
        format: format.to_string(),
        detail: detail.to_string(),
    }
}

fn check_encodable(buffer: &AudioBuffer, format: OutputFormat) -> Result<(), IoError> {
    if !(1..=2).contains(&buffer.num_channels()) {
        return Err(encode_error(
            format,
            format!("{} channels (mono or stereo only)", buffer.num_channels()),
        ));
    }
    for (channel, samples) in buffer.channels().iter().enumerate() {
        if let Some(frame) = samples.iter().position(|s| !s.is_finite()) {
            return Err(IoError::EncodeNonFinite {
                format: format.to_string(),
                channel,
                frame,
                value: samples[frame],
            });
        }
    }
    if let OutputFormat::Mp3(_) = format
        && !MP3_RATES_HZ.contains(&buffer.sample_rate())
    {
        return Err(encode_error(
            format,
            format!(
                "MP3 cannot carry {} Hz; resample to 44100 or 48000 Hz first",
                buffer.sample_rate()
            ),
        ));
    }
    Ok(())
}

fn encode_wav(
    buffer: &AudioBuffer,
    encoding: WavEncoding,
    dither: Dither,
) -> Result<Vec<u8>, IoError> {
    let bits = OutputFormat::Wav(encoding).bits_per_sample();
    let use_dither = match (dither, bits) {
        (_, None) | (Dither::Off, _) => false,
        (Dither::Tpdf, _) => true,
        (Dither::Auto, Some(bits)) => !is_on_grid(buffer.channels(), bits),
    };
    let data_len = wav_data_len(buffer.num_channels(), buffer.len(), encoding)?;
    let mut writer = WavWriter::new(
        Vec::with_capacity(data_len + 80),
        buffer.sample_rate(),
        buffer.num_channels(),
        buffer.len(),
        encoding,
        use_dither,
    )?;
    let planes: Vec<&[f32]> = buffer.channels().iter().map(Vec::as_slice).collect();
    writer.push(&planes)?;
    writer.finish()
}

fn wav_bytes_per_sample(encoding: WavEncoding) -> usize {
    match encoding {
        WavEncoding::Pcm16 => 2,
        WavEncoding::Pcm24 => 3,
        WavEncoding::Float32 => 4,
    }
}

/// Bytes of audio data, refused past the format's 4 GiB limit.
fn wav_data_len(channels: usize, frames: usize, encoding: WavEncoding) -> Result<usize, IoError> {
    frames
        .checked_mul(channels * wav_bytes_per_sample(encoding))
        .filter(|&n| n <= WAV_MAX_DATA_BYTES)
        .ok_or_else(|| {
            encode_error(
                OutputFormat::Wav(encoding),
                "audio too long for a WAV file (4 GiB limit)",
            )
        })
}

/// Writes a WAV file piece by piece: the header first (the length is given
/// up front), then the samples as they come, so a master of any length
/// needs one piece of memory. Integer encodings quantise with the same
/// per-channel dither streams as [`encode_to_vec`], so the bytes are the
/// same as a whole-buffer encode with the same dither choice.
pub struct WavWriter<W: Write> {
    out: W,
    encoding: WavEncoding,
    channels: usize,
    frames: usize,
    written: usize,
    quantizers: Vec<ChannelQuantizer>,
    bytes: Vec<u8>,
    /// One channel of a piece, quantised.
    ints: Vec<i32>,
}

impl<W: Write> WavWriter<W> {
    /// A writer for `frames` frames of `channels` (1 or 2) channels;
    /// `dither` adds TPDF dither on the integer encodings (decide it for
    /// the whole file: [`crate::dither::is_on_grid`] says whether the audio
    /// needs any word-length reduction at all).
    pub fn new(
        mut out: W,
        rate_hz: u32,
        channels: usize,
        frames: usize,
        encoding: WavEncoding,
        dither: bool,
    ) -> Result<Self, IoError> {
        let format = OutputFormat::Wav(encoding);
        if !(1..=2).contains(&channels) {
            return Err(encode_error(
                format,
                format!("{channels} channels (mono or stereo only)"),
            ));
        }
        let data_len = wav_data_len(channels, frames, encoding)?;
        let mut header = Vec::with_capacity(80);
        write_wav_header(&mut header, channels, rate_hz, frames, encoding, data_len);
        out.write_all(&header)
            .map_err(|e| encode_error(format, e))?;
        let bits = format.bits_per_sample().unwrap_or(32);
        Ok(Self {
            out,
            encoding,
            channels,
            frames,
            written: 0,
            quantizers: (0..channels)
                .map(|c| ChannelQuantizer::new(c, bits, dither))
                .collect(),
            bytes: Vec::new(),
            ints: Vec::new(),
        })
    }

    /// The next piece: a slice per channel, equal lengths, finite samples.
    /// Packed and written `WAV_PACK_FRAMES` (16 384) frames at a time, so the
    /// scratch stays small and warm in cache whatever the piece's length.
    pub fn push(&mut self, planes: &[&[f32]]) -> Result<(), IoError> {
        let format = OutputFormat::Wav(self.encoding);
        let frames = check_piece(format, planes, self.channels, self.written, self.frames)?;
        for start in (0..frames).step_by(WAV_PACK_FRAMES) {
            let end = (start + WAV_PACK_FRAMES).min(frames);
            self.pack(planes, start..end);
            self.out
                .write_all(&self.bytes)
                .map_err(|e| encode_error(format, e))?;
            self.written += end - start;
        }
        Ok(())
    }

    /// Interleaves (and for the integer encodings quantises) `range` of
    /// `planes` into `self.bytes`.
    fn pack(&mut self, planes: &[&[f32]], range: std::ops::Range<usize>) {
        let frames = range.len();
        let width = wav_bytes_per_sample(self.encoding);
        let stride = width * self.channels;
        self.bytes.clear();
        self.bytes.resize(frames * stride, 0);
        match self.encoding {
            WavEncoding::Float32 => {
                for (c, plane) in planes.iter().enumerate() {
                    for (frame, &v) in self
                        .bytes
                        .chunks_exact_mut(stride)
                        .zip(&plane[range.clone()])
                    {
                        frame[c * width..(c + 1) * width].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            WavEncoding::Pcm16 | WavEncoding::Pcm24 => {
                // Each channel's integers in a row of their own, then one
                // interleaving sweep over the frames.
                self.ints.resize(frames * self.channels, 0);
                for ((plane, q), ints) in planes
                    .iter()
                    .zip(&mut self.quantizers)
                    .zip(self.ints.chunks_exact_mut(frames))
                {
                    q.quantize_block(&plane[range.clone()], ints);
                }
                let (ints, channels) = (&self.ints, self.channels);
                match self.encoding {
                    WavEncoding::Pcm16 => {
                        interleave_ints::<2>(ints, frames, channels, &mut self.bytes)
                    }
                    _ => interleave_ints::<3>(ints, frames, channels, &mut self.bytes),
                }
            }
        }
    }

    /// Ends the file; refuses one shorter than announced.
    pub fn finish(mut self) -> Result<W, IoError> {
        let format = OutputFormat::Wav(self.encoding);
        if self.written != self.frames {
            return Err(encode_error(
                format,
                format!("{} frames written, {} announced", self.written, self.frames),
            ));
        }
        let data_len = self.frames * self.channels * wav_bytes_per_sample(self.encoding);
        if data_len % 2 == 1 {
            // RIFF chunks are word-aligned.
            self.out
                .write_all(&[0])
                .map_err(|e| encode_error(format, e))?;
        }
        self.out.flush().map_err(|e| encode_error(format, e))?;
        Ok(self.out)
    }
}

/// Writes `ints` (a row of `frames` integers for each of `channels`) into
/// `bytes` as interleaved little-endian samples of `W` bytes. `W` is a constant so
/// each sample is one fixed-size move: with the width known only at run
/// time every sample was a call to `memcpy`, a third of a WAV encode.
fn interleave_ints<const W: usize>(ints: &[i32], frames: usize, channels: usize, bytes: &mut [u8]) {
    for (i, frame) in bytes.chunks_exact_mut(W * channels).enumerate() {
        for (c, sample) in frame.chunks_exact_mut(W).enumerate() {
            let le = ints[c * frames + i].to_le_bytes();
            sample.copy_from_slice(&le[..W]);
        }
    }
}

/// Frames a [`WavWriter`] packs per write (about 100 kB of 24-bit stereo).
const WAV_PACK_FRAMES: usize = 16_384;
/// RIFF sizes are 32-bit; keep the whole file under 4 GiB.
const WAV_MAX_DATA_BYTES: usize = u32::MAX as usize - 128;
const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// KSDATAFORMAT_SUBTYPE_PCM GUID bytes after the format tag.
const KSDATAFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Canonical headers: 16-bit PCM and float as plain WAVEFORMATEX (the most
/// widely read), 24-bit as WAVE_FORMAT_EXTENSIBLE, which Microsoft requires
/// for more than 16 bits.
fn write_wav_header(
    out: &mut Vec<u8>,
    channels: usize,
    rate: u32,
    frames: usize,
    encoding: WavEncoding,
    data_len: usize,
) {
    let channels = channels as u16;
    let (tag, bits): (u16, u16) = match encoding {
        WavEncoding::Pcm16 => (WAVE_FORMAT_PCM, 16),
        WavEncoding::Pcm24 => (WAVE_FORMAT_EXTENSIBLE, 24),
        WavEncoding::Float32 => (WAVE_FORMAT_IEEE_FLOAT, 32),
    };
    let block_align = channels * bits / 8;
    let mut fmt = Vec::with_capacity(40);
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    let mut fact: Option<u32> = None;
    match encoding {
        WavEncoding::Pcm16 => {}
        WavEncoding::Float32 => {
            fmt.extend_from_slice(&0u16.to_le_bytes()); // cbSize
            // Non-PCM formats carry a fact chunk with the frame count.
            fact = Some(frames as u32);
        }
        WavEncoding::Pcm24 => {
            fmt.extend_from_slice(&22u16.to_le_bytes()); // cbSize
            fmt.extend_from_slice(&bits.to_le_bytes()); // valid bits
            let mask: u32 = if channels == 1 { 0x4 } else { 0x3 }; // FC / FL+FR
            fmt.extend_from_slice(&mask.to_le_bytes());
            fmt.extend_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
            fmt.extend_from_slice(&KSDATAFORMAT_GUID_TAIL);
        }
    }
    let fact_len = if fact.is_some() { 12 } else { 0 };
    let padded_data = data_len + data_len % 2;
    let riff_len = 4 + (8 + fmt.len()) + fact_len + 8 + padded_data;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(riff_len as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    if let Some(frames) = fact {
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&frames.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data_len as u32).to_le_bytes());
}

fn encode_flac(buffer: &AudioBuffer, depth: FlacDepth, dither: Dither) -> Result<Vec<u8>, IoError> {
    let bits = OutputFormat::Flac(depth).bits_per_sample().unwrap_or(24);
    let use_dither = match dither {
        Dither::Off => false,
        Dither::Tpdf => true,
        Dither::Auto => !is_on_grid(buffer.channels(), bits),
    };
    let mut writer = FlacWriter::new(
        std::io::Cursor::new(Vec::new()),
        buffer.sample_rate(),
        buffer.num_channels(),
        buffer.len(),
        depth,
        use_dither,
    )?;
    let planes: Vec<&[f32]> = buffer.channels().iter().map(Vec::as_slice).collect();
    writer.push(&planes)?;
    Ok(writer.finish()?.into_inner())
}

/// Writes a FLAC file piece by piece, one fixed-size frame at a time, so a
/// master of any length needs one frame of memory: the stream header goes
/// first with placeholder totals and is rewritten in place at the end (its
/// size is fixed), which is why the output must be seekable. Quantises with
/// the same per-channel dither streams as [`encode_to_vec`]; the bytes are
/// the whole-buffer encode's.
pub struct FlacWriter<W: Write + std::io::Seek> {
    out: W,
    depth: FlacDepth,
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    /// Verbatim subframes only: the fallback for frames the predictors
    /// would code larger than raw PCM.
    verbatim: flacenc::error::Verified<flacenc::config::Encoder>,
    bits: usize,
    stream: flacenc::component::Stream,
    buffer: (flacenc::source::FrameBuf, flacenc::source::Context),
    quantizers: Vec<ChannelQuantizer>,
    /// Interleaved integer samples not yet in a frame.
    pending: Vec<i32>,
    channels: usize,
    frames: usize,
    written: usize,
}

impl<W: Write + std::io::Seek> FlacWriter<W> {
    pub fn new(
        mut out: W,
        rate_hz: u32,
        channels: usize,
        frames: usize,
        depth: FlacDepth,
        dither: bool,
    ) -> Result<Self, IoError> {
        use flacenc::error::Verify;
        let format = OutputFormat::Flac(depth);
        if !(1..=2).contains(&channels) {
            return Err(encode_error(
                format,
                format!("{channels} channels (mono or stereo only)"),
            ));
        }
        let bits = format.bits_per_sample().unwrap_or(24);
        let mut config = flacenc::config::Encoder::default();
        config.block_size = FLAC_BLOCK_SIZE;
        // One thread keeps CPU use predictable on shared machines; the
        // output does not depend on it.
        config.multithread = false;
        let mut verbatim = config.clone();
        verbatim.subframe_coding.use_constant = false;
        verbatim.subframe_coding.use_fixed = false;
        verbatim.subframe_coding.use_lpc = false;
        verbatim.stereo_coding.use_leftside = false;
        verbatim.stereo_coding.use_rightside = false;
        verbatim.stereo_coding.use_midside = false;
        let config = config
            .into_verified()
            .map_err(|(_, e)| encode_error(format, e))?;
        let verbatim = verbatim
            .into_verified()
            .map_err(|(_, e)| encode_error(format, e))?;
        let mut stream = flacenc::component::Stream::new(rate_hz as usize, channels, bits as usize)
            .map_err(|e| encode_error(format, e))?;
        stream
            .stream_info_mut()
            .set_block_sizes(FLAC_BLOCK_SIZE, FLAC_BLOCK_SIZE)
            .map_err(|e| encode_error(format, e))?;
        let buffer = (
            flacenc::source::FrameBuf::with_size(channels, FLAC_BLOCK_SIZE)
                .map_err(|e| encode_error(format, e))?,
            flacenc::source::Context::new(bits as usize, channels),
        );
        let header = flac_header(&stream, format)?;
        out.write_all(&header)
            .map_err(|e| encode_error(format, e))?;
        Ok(Self {
            out,
            depth,
            config,
            verbatim,
            bits: bits as usize,
            stream,
            buffer,
            quantizers: (0..channels)
                .map(|c| ChannelQuantizer::new(c, bits, dither))
                .collect(),
            pending: Vec::with_capacity(FLAC_BLOCK_SIZE * channels),
            channels,
            frames,
            written: 0,
        })
    }

    /// The next piece: a slice per channel, equal lengths, finite samples.
    pub fn push(&mut self, planes: &[&[f32]]) -> Result<(), IoError> {
        let format = OutputFormat::Flac(self.depth);
        let frames = check_piece(format, planes, self.channels, self.written, self.frames)?;
        let block = FLAC_BLOCK_SIZE * self.channels;
        for i in 0..frames {
            for (plane, q) in planes.iter().zip(&mut self.quantizers) {
                self.pending.push(q.next(plane[i]));
            }
            if self.pending.len() == block {
                self.encode_pending()?;
            }
        }
        self.written += frames;
        Ok(())
    }

    /// Encodes the pending samples as the next frame.
    fn encode_pending(&mut self) -> Result<(), IoError> {
        use flacenc::component::BitRepr;
        use flacenc::source::Fill;
        let format = OutputFormat::Flac(self.depth);
        self.buffer
            .fill_interleaved(&self.pending)
            .map_err(|e| encode_error(format, e))?;
        self.pending.clear();
        let number = self.buffer.1.current_frame_number().unwrap_or(0);
        let encode = |config| {
            flacenc::encode_fixed_size_frame(
                config,
                &self.buffer.0,
                number,
                self.stream.stream_info(),
            )
            .map_err(|e| encode_error(format, e))
        };
        let mut frame = encode(&self.config)?;
        // flacenc 0.5 caps the Rice parameter at 14, too small for 24-bit
        // noise-like residuals: such frames come out several times larger
        // than raw PCM, and symphonia fails to read the largest (measured:
        // pink noise at 24 bits coded 3.8x its PCM size). A frame larger
        // than its verbatim form (frame header and CRC allowance included)
        // is coded verbatim instead.
        let block = self.buffer.0.size();
        let verbatim_bits = self.channels * block * self.bits + FLAC_FRAME_OVERHEAD_BITS;
        if frame.count_bits() > verbatim_bits {
            frame = encode(&self.verbatim)?;
        }
        self.stream.stream_info_mut().update_frame_info(&frame);
        let mut sink = flacenc::bitsink::ByteSink::new();
        frame
            .write(&mut sink)
            .map_err(|e| encode_error(format, format!("{e:?}")))?;
        self.out
            .write_all(sink.as_slice())
            .map_err(|e| encode_error(format, e))
    }

    /// Ends the stream (the last, shorter frame and the final header);
    /// refuses one shorter than announced.
    pub fn finish(mut self) -> Result<W, IoError> {
        let format = OutputFormat::Flac(self.depth);
        if self.written != self.frames {
            return Err(encode_error(
                format,
                format!("{} frames written, {} announced", self.written, self.frames),
            ));
        }
        if !self.pending.is_empty() {
            self.encode_pending()?;
        }
        let md5 = self.buffer.1.md5_digest();
        let info = self.stream.stream_info_mut();
        info.set_md5_digest(&md5);
        info.set_total_samples(self.frames);
        // flacenc records the short final frame as the minimum block size,
        // which makes the stream look variable-block-size and symphonia
        // refuses it. The FLAC spec exempts the last block, so declare the
        // fixed size.
        info.set_block_sizes(FLAC_BLOCK_SIZE, FLAC_BLOCK_SIZE)
            .map_err(|e| encode_error(format, e))?;
        let header = flac_header(&self.stream, format)?;
        let io = |e: std::io::Error| encode_error(format, e);
        self.out.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        self.out.write_all(&header).map_err(io)?;
        self.out.seek(std::io::SeekFrom::End(0)).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }
}

/// Checks a piece for a streaming writer: the writer's channel count,
/// equal lengths, no more frames than announced (`written` so far of
/// `announced`), finite samples. Returns its length in frames.
fn check_piece(
    format: OutputFormat,
    planes: &[&[f32]],
    channels: usize,
    written: usize,
    announced: usize,
) -> Result<usize, IoError> {
    let frames = planes.first().map_or(0, |p| p.len());
    if planes.len() != channels || planes.iter().any(|p| p.len() != frames) {
        return Err(encode_error(
            format,
            "a piece does not match the channel layout",
        ));
    }
    if written + frames > announced {
        return Err(encode_error(
            format,
            format!("more than the {announced} frames announced"),
        ));
    }
    for (channel, samples) in planes.iter().enumerate() {
        if let Some(frame) = samples.iter().position(|s| !s.is_finite()) {
            return Err(IoError::EncodeNonFinite {
                format: format.to_string(),
                channel,
                frame: written + frame,
                value: samples[frame],
            });
        }
    }
    Ok(frames)
}

/// Generous bound on a frame's header, subframe headers, padding and CRCs,
/// in bits.
const FLAC_FRAME_OVERHEAD_BITS: usize = 256;

/// `fLaC` and the STREAMINFO block (a fixed 42 bytes).
fn flac_header(
    stream: &flacenc::component::Stream,
    format: OutputFormat,
) -> Result<Vec<u8>, IoError> {
    use flacenc::component::BitRepr;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| encode_error(format, format!("{e:?}")))?;
    Ok(sink.into_inner())
}

fn encode_mp3(buffer: &AudioBuffer, mode: Mp3Mode) -> Result<Vec<u8>, IoError> {
    let mut writer = Mp3Writer::new(
        std::io::Cursor::new(Vec::new()),
        buffer.sample_rate(),
        buffer.len(),
        mode,
    )?;
    let left = buffer.channel(0);
    let right = if buffer.num_channels() > 1 {
        buffer.channel(1)
    } else {
        left
    };
    writer.push(&[left, right])?;
    Ok(writer.finish()?.into_inner())
}

/// Writes an MP3 piece by piece (stereo in; a mono source passes its
/// channel twice): LAME is fed as the audio comes, and its Xing/LAME tag,
/// written as a blank first frame, is filled in place at the end (so the
/// output must be seekable). The bytes are those of one whole-buffer call.
pub struct Mp3Writer<W: Write + std::io::Seek> {
    out: W,
    mode: Mp3Mode,
    encoder: mp3lame_encoder::Encoder,
    scratch: Vec<u8>,
    frames: usize,
    written: usize,
}

impl<W: Write + std::io::Seek> Mp3Writer<W> {
    pub fn new(out: W, rate_hz: u32, frames: usize, mode: Mp3Mode) -> Result<Self, IoError> {
        use mp3lame_encoder::{Bitrate, Builder, Mode, Quality, VbrMode};
        let format = OutputFormat::Mp3(mode);
        let err = |e: &dyn fmt::Display| encode_error(format, e);
        if !MP3_RATES_HZ.contains(&rate_hz) {
            return Err(encode_error(
                format,
                format!("MP3 cannot carry {rate_hz} Hz; resample to 44100 or 48000 Hz first"),
            ));
        }
        let mut builder =
            Builder::new().ok_or_else(|| err(&"LAME could not allocate an encoder"))?;
        builder.set_num_channels(2).map_err(|e| err(&e))?;
        builder.set_sample_rate(rate_hz).map_err(|e| err(&e))?;
        builder.set_mode(Mode::JointStereo).map_err(|e| err(&e))?;
        // q=2 is LAME's recommended "high quality" algorithm setting.
        builder
            .set_quality(Quality::NearBest)
            .map_err(|e| err(&e))?;
        // The Xing/LAME tag carries encoder delay and padding, which is what
        // lets a decoder return exactly the original number of samples.
        builder.set_to_write_vbr_tag(true).map_err(|e| err(&e))?;
        match mode {
            Mp3Mode::Cbr320 => {
                builder.set_vbr_mode(VbrMode::Off).map_err(|e| err(&e))?;
                builder.set_brate(Bitrate::Kbps320).map_err(|e| err(&e))?;
            }
            Mp3Mode::V0 => {
                builder.set_vbr_mode(VbrMode::Mtrh).map_err(|e| err(&e))?;
                builder
                    .set_vbr_quality(Quality::Best)
                    .map_err(|e| err(&e))?;
            }
        }
        let encoder = builder.build().map_err(|e| err(&e))?;
        Ok(Self {
            out,
            mode,
            encoder,
            scratch: Vec::new(),
            frames,
            written: 0,
        })
    }

    /// The next piece: left and right, equal lengths, finite samples.
    pub fn push(&mut self, planes: &[&[f32]]) -> Result<(), IoError> {
        use mp3lame_encoder::DualPcm;
        let format = OutputFormat::Mp3(self.mode);
        let frames = check_piece(format, planes, 2, self.written, self.frames)?;
        if frames == 0 {
            return Ok(());
        }
        // encode_to_vec writes into spare capacity without growing the
        // vector: reserve LAME's documented worst case first.
        self.scratch.clear();
        self.scratch
            .reserve(mp3lame_encoder::max_required_buffer_size(frames));
        self.encoder
            .encode_to_vec(
                DualPcm {
                    left: planes[0],
                    right: planes[1],
                },
                &mut self.scratch,
            )
            .map_err(|e| encode_error(format, e))?;
        self.out
            .write_all(&self.scratch)
            .map_err(|e| encode_error(format, e))?;
        self.written += frames;
        Ok(())
    }

    /// Flushes LAME and fills in the tag frame.
    pub fn finish(mut self) -> Result<W, IoError> {
        use mp3lame_encoder::FlushGap;
        let format = OutputFormat::Mp3(self.mode);
        let err = |e: &dyn fmt::Display| encode_error(format, e);
        if self.written != self.frames {
            return Err(err(&format!(
                "{} frames written, {} announced",
                self.written, self.frames
            )));
        }
        self.scratch.clear();
        self.scratch.reserve(LAME_FLUSH_RESERVE_BYTES);
        // `FlushGap` is lame_encode_flush, the normal end of stream; the
        // "nogap" flush leaves the last frames for a following track and the
        // tag's frame count then cuts the decode short (measured: 1 897
        // frames missing).
        self.encoder
            .flush_to_vec::<FlushGap>(&mut self.scratch)
            .map_err(|e| err(&e))?;
        self.out.write_all(&self.scratch).map_err(|e| err(&e))?;
        // The first frame was written as a blank placeholder; now that the
        // totals are known, overwrite it with the real Xing/LAME tag.
        let tag_len = self.encoder.lame_tag_size();
        if tag_len > 0 {
            let mut tag = Vec::with_capacity(tag_len);
            self.encoder
                .lame_tag_encode_to_vec(&mut tag)
                .ok_or_else(|| err(&"LAME did not produce its tag frame"))?;
            let start = self.encoder.id3v2_tag_size() as u64;
            self.out
                .seek(std::io::SeekFrom::Start(start))
                .map_err(|e| err(&e))?;
            self.out.write_all(&tag).map_err(|e| err(&e))?;
            self.out
                .seek(std::io::SeekFrom::End(0))
                .map_err(|e| err(&e))?;
        }
        self.out.flush().map_err(|e| err(&e))?;
        Ok(self.out)
    }
}
