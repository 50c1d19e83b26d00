//! The streaming halves of the I/O stage agree with the whole-file ones:
//! `decode_stream`'s pieces concatenate to `decode_file`'s buffer, and a
//! WAV written piece by piece is the whole-buffer encode, byte for byte.

mod common;

use std::path::Path;

use lacquer_core::AudioBuffer;
use lacquer_io::dither::is_on_grid;
use lacquer_io::{
    DecodeOptions, FlacDepth, IoError, Mp3Mode, OutputFormat, WavEncoding, WavWriter, decode_file,
    decode_stream, encode_to_vec,
};
use lacquer_testkit::{Rng, pink_noise};

fn noise(rate: u32, seconds: f64, channels: usize, seed: u64) -> AudioBuffer {
    let mut rng = Rng::new(seed);
    let planes = (0..channels)
        .map(|_| pink_noise(&mut rng, rate, seconds, -16.0))
        .collect();
    AudioBuffer::new(rate, planes).unwrap()
}

/// Calls `f` on consecutive pieces of `buffer` of random length
/// (1..`max_len` frames).
fn for_random_pieces(
    buffer: &AudioBuffer,
    rng: &mut Rng,
    max_len: usize,
    mut f: impl FnMut(&[&[f32]]),
) {
    let mut at = 0;
    while at < buffer.len() {
        let end = (at + rng.range(1, max_len)).min(buffer.len());
        let piece: Vec<&[f32]> = buffer.channels().iter().map(|c| &c[at..end]).collect();
        f(&piece);
        at = end;
    }
}

fn streamed(path: &Path) -> (Vec<f32>, Vec<f32>, usize) {
    let (mut l, mut r, mut pieces) = (Vec::new(), Vec::new(), 0);
    decode_stream(path, &DecodeOptions::default(), |a: &[f32], b: &[f32]| {
        assert_eq!(a.len(), b.len());
        l.extend_from_slice(a);
        r.extend_from_slice(b);
        pieces += 1;
        Ok::<(), IoError>(())
    })
    .unwrap();
    (l, r, pieces)
}

#[test]
fn streamed_decode_is_the_whole_file_decode() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, std::path::PathBuf)> = Vec::new();
    for (name, buffer, format) in [
        (
            "stereo.wav",
            noise(44_100, 3.0, 2, 1),
            OutputFormat::Wav(WavEncoding::Pcm24),
        ),
        (
            "mono.wav",
            noise(48_000, 2.0, 1, 2),
            OutputFormat::Wav(WavEncoding::Float32),
        ),
        (
            "stereo.flac",
            noise(44_100, 2.5, 2, 3),
            OutputFormat::Flac(FlacDepth::Bits16),
        ),
        (
            "stereo.mp3",
            noise(44_100, 2.5, 2, 4),
            OutputFormat::Mp3(Mp3Mode::Cbr320),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, encode_to_vec(&buffer, format).unwrap()).unwrap();
        cases.push((name.to_owned(), path));
    }
    // AAC: priming frames dropped at the start, padding cut at the end.
    let aac = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sine-1k.m4a");
    cases.push(("sine-1k.m4a".to_owned(), aac));

    for (name, path) in cases {
        let whole = decode_file(&path, &DecodeOptions::default()).unwrap();
        let (l, r, pieces) = streamed(&path);
        assert!(pieces > 1, "{name}: one piece only");
        assert_eq!(l.as_slice(), whole.buffer.channel(0), "{name}: left");
        assert_eq!(r.as_slice(), whole.buffer.channel(1), "{name}: right");
    }
}

#[test]
fn a_sink_error_stops_the_decode_and_is_returned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    let buffer = noise(44_100, 3.0, 2, 5);
    std::fs::write(
        &path,
        encode_to_vec(&buffer, OutputFormat::Wav(WavEncoding::Pcm16)).unwrap(),
    )
    .unwrap();
    #[derive(Debug, PartialEq)]
    enum Mine {
        Stop(usize),
        Io(String),
    }
    impl From<IoError> for Mine {
        fn from(e: IoError) -> Self {
            Mine::Io(e.to_string())
        }
    }
    let mut calls = 0;
    let result = decode_stream(&path, &DecodeOptions::default(), |_: &[f32], _: &[f32]| {
        calls += 1;
        if calls == 2 {
            Err(Mine::Stop(calls))
        } else {
            Ok(())
        }
    });
    assert_eq!(result.unwrap_err(), Mine::Stop(2));
    assert_eq!(calls, 2);

    // A bad file is the decoder's own error, through the caller's type.
    let missing = dir.path().join("missing.wav");
    let err = decode_stream(
        &missing,
        &DecodeOptions::default(),
        |_: &[f32], _: &[f32]| Ok::<(), Mine>(()),
    )
    .unwrap_err();
    assert!(
        matches!(err, Mine::Io(ref m) if m.contains("not found")),
        "{err:?}"
    );
}

#[test]
fn wav_written_in_pieces_is_the_whole_buffer_encode() {
    for (channels, encoding, frames) in [
        (2, WavEncoding::Pcm24, 50_001),
        (2, WavEncoding::Pcm16, 44_100),
        (1, WavEncoding::Pcm24, 30_001),
        (2, WavEncoding::Float32, 40_000),
    ] {
        let buffer = noise(44_100, frames as f64 / 44_100.0, channels, 6);
        let whole = encode_to_vec(&buffer, OutputFormat::Wav(encoding)).unwrap();
        let dither = OutputFormat::Wav(encoding)
            .bits_per_sample()
            .is_some_and(|bits| !is_on_grid(buffer.channels(), bits));
        let mut writer =
            WavWriter::new(Vec::new(), 44_100, channels, buffer.len(), encoding, dither).unwrap();
        let mut rng = Rng::new(7);
        for_random_pieces(&buffer, &mut rng, 5_000, |piece| {
            writer.push(piece).unwrap();
        });
        let pieces = writer.finish().unwrap();
        assert!(
            pieces == whole,
            "{channels} ch {encoding:?}: bytes differ from the whole-buffer encode"
        );
    }
}

#[test]
fn a_wav_writer_refuses_the_wrong_length() {
    let piece = vec![0.25f32; 100];
    let mut short = WavWriter::new(Vec::new(), 48_000, 1, 200, WavEncoding::Pcm16, false).unwrap();
    short.push(&[&piece]).unwrap();
    assert!(short.finish().is_err(), "fewer frames than announced");
    let mut long = WavWriter::new(Vec::new(), 48_000, 1, 150, WavEncoding::Pcm16, false).unwrap();
    long.push(&[&piece]).unwrap();
    assert!(long.push(&[&piece]).is_err(), "more frames than announced");
    let mut nan = WavWriter::new(Vec::new(), 48_000, 1, 100, WavEncoding::Pcm16, false).unwrap();
    let mut bad = piece.clone();
    bad[42] = f32::NAN;
    assert!(matches!(
        nan.push(&[&bad]),
        Err(IoError::EncodeNonFinite { frame: 42, .. })
    ));
}

#[test]
fn resampling_in_pieces_is_the_whole_buffer_conversion() {
    use lacquer_io::{StreamResampler, resample};
    let mut rng = Rng::new(8);
    for (from, to, frames) in [
        (96_000, 48_000, 150_001),
        (48_000, 44_100, 99_999),
        (44_100, 48_000, 16_384),
        (22_050, 44_100, 3_000),
        (88_200, 44_100, 500),
    ] {
        let buffer = noise(from, frames as f64 / f64::from(from), 2, 9);
        let frames = buffer.len();
        let whole = resample(&buffer, to).unwrap();
        let mut stream = StreamResampler::new(from, to, 2, frames).unwrap();
        let mut out = [Vec::new(), Vec::new()];
        let mut collect = |piece: &[&[f32]]| {
            out[0].extend_from_slice(piece[0]);
            out[1].extend_from_slice(piece[1]);
            Ok::<(), IoError>(())
        };
        for_random_pieces(&buffer, &mut rng, 30_000, |piece| {
            stream.push(piece, &mut collect).unwrap();
        });
        stream.finish(&mut collect).unwrap();
        assert_eq!(out[0].len(), whole.len(), "{from} -> {to}: length");
        assert!(
            out[0] == whole.channel(0) && out[1] == whole.channel(1),
            "{from} -> {to}: samples differ from the whole-buffer conversion"
        );
    }
    // Too much or too little input is an error, not a silent cut.
    let mut short = StreamResampler::new(48_000, 44_100, 1, 1_000).unwrap();
    let mut sink = |_: &[&[f32]]| Ok::<(), IoError>(());
    short.push(&[&[0.0; 400]], &mut sink).unwrap();
    assert!(short.finish(&mut sink).is_err());
    let mut long = StreamResampler::new(48_000, 44_100, 1, 100).unwrap();
    assert!(long.push(&[&[0.0; 400]], &mut sink).is_err());
}

/// The streamed FLAC against flacenc's own whole-stream encoder, fed the
/// same quantised samples: the same bytes, however the audio is cut.
#[test]
fn flac_written_in_pieces_is_flacenc_whole_stream_encode() {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    use lacquer_io::dither::{Dither, quantize};
    use lacquer_io::{FlacDepth, FlacWriter};
    // 16-bit: flacenc's predictors never lose to verbatim here, so no
    // frame takes the verbatim fallback (24-bit noise does: next test).
    for (channels, depth, frames) in [
        (2, FlacDepth::Bits16, 50_001),
        (2, FlacDepth::Bits16, 4_096 * 3),
        (1, FlacDepth::Bits16, 1_000),
    ] {
        let bits = if depth == FlacDepth::Bits24 { 24 } else { 16 };
        let buffer = noise(44_100, frames as f64 / 44_100.0, channels, 10);
        let frames = buffer.len();
        // The reference: flacenc's MemSource path with fixed-size blocks.
        let q = quantize(buffer.channels(), bits, Dither::Tpdf);
        let interleaved: Vec<i32> = (0..frames)
            .flat_map(|i| q.iter().map(move |c| c[i]))
            .collect();
        let mut config = flacenc::config::Encoder::default();
        config.block_size = 4096;
        config.multithread = false;
        let config = config.into_verified().unwrap();
        let source =
            flacenc::source::MemSource::from_samples(&interleaved, channels, bits as usize, 44_100);
        let mut stream = flacenc::encode_with_fixed_block_size(&config, source, 4096).unwrap();
        stream
            .stream_info_mut()
            .set_block_sizes(4096, 4096)
            .unwrap();
        let mut sink = flacenc::bitsink::ByteSink::new();
        stream.write(&mut sink).unwrap();
        let reference = sink.into_inner();

        let mut writer = FlacWriter::new(
            std::io::Cursor::new(Vec::new()),
            44_100,
            channels,
            frames,
            depth,
            true,
        )
        .unwrap();
        let mut rng = Rng::new(12);
        for_random_pieces(&buffer, &mut rng, 9_000, |piece| {
            writer.push(piece).unwrap();
        });
        let pieces = writer.finish().unwrap().into_inner();
        assert!(
            pieces == reference,
            "{channels} ch {depth:?}: bytes differ from flacenc's whole-stream encode"
        );
    }
}

/// 24-bit noise-like audio: flacenc's predictors would code it several
/// times larger than PCM (and unreadably); the writer's verbatim fallback
/// keeps every frame at most raw size, and the file decodes to exactly the
/// samples written.
#[test]
fn flac_24_bit_noise_stays_near_pcm_size_and_decodes_exactly() {
    use lacquer_io::{FlacDepth, FlacWriter};
    /// Container overhead allowed over raw PCM: frame headers and CRCs.
    const OVERHEAD_MAX: f64 = 0.01;
    let dir = tempfile::tempdir().unwrap();
    let buffer = noise(44_100, 6.0, 2, 13);
    let frames = buffer.len();
    let mut writer = FlacWriter::new(
        std::io::Cursor::new(Vec::new()),
        44_100,
        2,
        frames,
        FlacDepth::Bits24,
        false,
    )
    .unwrap();
    let planes: Vec<&[f32]> = buffer.channels().iter().map(Vec::as_slice).collect();
    writer.push(&planes).unwrap();
    let bytes = writer.finish().unwrap().into_inner();
    let raw = (frames * 2 * 3) as f64;
    println!("24-bit noise: {} bytes, raw {raw}", bytes.len());
    assert!(
        bytes.len() as f64 <= raw * (1.0 + OVERHEAD_MAX),
        "{} bytes",
        bytes.len()
    );
    let path = dir.path().join("noise.flac");
    std::fs::write(&path, &bytes).unwrap();
    let decoded = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.buffer.len(), frames);
    let scale = f64::from(1u32 << 23);
    for (c, plane) in buffer.channels().iter().enumerate() {
        for (i, (&written, &read)) in plane.iter().zip(decoded.buffer.channel(c)).enumerate() {
            let q = (f64::from(written) * scale)
                .round()
                .clamp(-scale, scale - 1.0)
                / scale;
            assert_eq!(read, q as f32, "channel {c}, frame {i}");
        }
    }
}

#[test]
fn mp3_written_in_pieces_is_the_whole_buffer_encode() {
    use lacquer_io::Mp3Writer;
    for mode in [Mp3Mode::Cbr320, Mp3Mode::V0] {
        let buffer = noise(44_100, 3.0, 2, 14);
        let whole = encode_to_vec(&buffer, OutputFormat::Mp3(mode)).unwrap();
        let frames = buffer.len();
        let mut writer =
            Mp3Writer::new(std::io::Cursor::new(Vec::new()), 44_100, frames, mode).unwrap();
        let mut rng = Rng::new(15);
        for_random_pieces(&buffer, &mut rng, 9_000, |piece| {
            writer.push(piece).unwrap();
        });
        let pieces = writer.finish().unwrap().into_inner();
        assert!(
            pieces == whole,
            "{mode:?}: bytes differ from the whole-buffer encode"
        );
    }
}
