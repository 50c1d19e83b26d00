//! Encoding a finished master to bytes.
//!
//! Encoders work into memory first so that a failure can never leave a
//! half-written file behind (see `write`). Integer outputs go through our own
//! TPDF dither (see `dither`) rather than each library's rounding, so every
//! format shares one deterministic word-length policy.

use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use lacquer_core::AudioBuffer;

use crate::IoError;
use crate::dither::{Dither, quantize};

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

fn interleave<T: Copy>(channels: &[Vec<T>]) -> Vec<T> {
    let frames = channels.first().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(frames * channels.len());
    for i in 0..frames {
        for c in channels {
            out.push(c[i]);
        }
    }
    out
}

fn encode_wav(
    buffer: &AudioBuffer,
    encoding: WavEncoding,
    dither: Dither,
) -> Result<Vec<u8>, IoError> {
    let format = OutputFormat::Wav(encoding);
    let (bits, sample_format) = match encoding {
        WavEncoding::Pcm16 => (16, hound::SampleFormat::Int),
        WavEncoding::Pcm24 => (24, hound::SampleFormat::Int),
        WavEncoding::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: buffer.num_channels() as u16,
        sample_rate: buffer.sample_rate(),
        bits_per_sample: bits,
        sample_format,
    };
    let mut cursor = Cursor::new(Vec::new());
    {
        let mut writer =
            hound::WavWriter::new(&mut cursor, spec).map_err(|e| encode_error(format, e))?;
        match encoding {
            WavEncoding::Float32 => {
                for s in interleave(buffer.channels()) {
                    writer
                        .write_sample(s)
                        .map_err(|e| encode_error(format, e))?;
                }
            }
            WavEncoding::Pcm16 => {
                let ints = quantize(buffer.channels(), 16, dither);
                for s in interleave(&ints) {
                    writer
                        .write_sample(s as i16)
                        .map_err(|e| encode_error(format, e))?;
                }
            }
            WavEncoding::Pcm24 => {
                let ints = quantize(buffer.channels(), 24, dither);
                for s in interleave(&ints) {
                    writer
                        .write_sample(s)
                        .map_err(|e| encode_error(format, e))?;
                }
            }
        }
        writer.finalize().map_err(|e| encode_error(format, e))?;
    }
    Ok(cursor.into_inner())
}

fn encode_flac(buffer: &AudioBuffer, depth: FlacDepth, dither: Dither) -> Result<Vec<u8>, IoError> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;

    let format = OutputFormat::Flac(depth);
    let bits: u32 = match depth {
        FlacDepth::Bits16 => 16,
        FlacDepth::Bits24 => 24,
    };
    let samples = interleave(&quantize(buffer.channels(), bits, dither));
    let mut config = flacenc::config::Encoder::default();
    config.block_size = FLAC_BLOCK_SIZE;
    // One thread keeps CPU use predictable on shared machines; the output
    // does not depend on it.
    config.multithread = false;
    let config = config
        .into_verified()
        .map_err(|(_, e)| encode_error(format, e))?;
    let source = flacenc::source::MemSource::from_samples(
        &samples,
        buffer.num_channels(),
        bits as usize,
        buffer.sample_rate() as usize,
    );
    let mut stream = flacenc::encode_with_fixed_block_size(&config, source, FLAC_BLOCK_SIZE)
        .map_err(|e| encode_error(format, e))?;
    // flacenc records the short final block as the minimum block size, which
    // makes the stream look variable-block-size and symphonia refuses it.
    // The FLAC spec exempts the last block, so declare the fixed size.
    stream
        .stream_info_mut()
        .set_block_sizes(FLAC_BLOCK_SIZE, FLAC_BLOCK_SIZE)
        .map_err(|e| encode_error(format, e))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| encode_error(format, format!("{e:?}")))?;
    Ok(sink.into_inner())
}

fn encode_mp3(buffer: &AudioBuffer, mode: Mp3Mode) -> Result<Vec<u8>, IoError> {
    use mp3lame_encoder::{Bitrate, Builder, DualPcm, FlushGap, Mode, Quality, VbrMode};

    let format = OutputFormat::Mp3(mode);
    let err = |e: &dyn fmt::Display| encode_error(format, e);
    let mut builder = Builder::new().ok_or_else(|| err(&"LAME could not allocate an encoder"))?;
    builder.set_num_channels(2).map_err(|e| err(&e))?;
    builder
        .set_sample_rate(buffer.sample_rate())
        .map_err(|e| err(&e))?;
    builder.set_mode(Mode::JointStereo).map_err(|e| err(&e))?;
    // q=2 is LAME's recommended "high quality" algorithm setting.
    builder
        .set_quality(Quality::NearBest)
        .map_err(|e| err(&e))?;
    // The Xing/LAME tag carries encoder delay and padding, which is what lets
    // a decoder return exactly the original number of samples.
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
    let mut encoder = builder.build().map_err(|e| err(&e))?;

    let left = buffer.channel(0);
    let right = if buffer.num_channels() > 1 {
        buffer.channel(1)
    } else {
        left
    };
    // encode_to_vec writes into spare capacity without growing the vector:
    // reserve LAME's documented worst case first.
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(left.len()));
    encoder
        .encode_to_vec(DualPcm { left, right }, &mut out)
        .map_err(|e| err(&e))?;
    out.reserve(LAME_FLUSH_RESERVE_BYTES);
    // `FlushGap` is lame_encode_flush, the normal end of stream; the "nogap"
    // flush leaves the last frames for a following track and the tag's frame
    // count then cuts the decode short (measured: 1 897 frames missing).
    encoder
        .flush_to_vec::<FlushGap>(&mut out)
        .map_err(|e| err(&e))?;

    // The first frame was written as a blank placeholder; now that the
    // totals are known, overwrite it with the real Xing/LAME tag.
    let tag_len = encoder.lame_tag_size();
    if tag_len > 0 {
        let mut tag = Vec::with_capacity(tag_len);
        encoder
            .lame_tag_encode_to_vec(&mut tag)
            .ok_or_else(|| err(&"LAME did not produce its tag frame"))?;
        let start = encoder.id3v2_tag_size();
        let Some(slot) = out.get_mut(start..start + tag.len()) else {
            return Err(err(&"LAME tag frame does not fit the stream"));
        };
        slot.copy_from_slice(&tag);
    }
    Ok(out)
}
