//! The streamed analysis is the whole-buffer one, bit for bit, however the
//! audio is cut into pieces (each pass cut differently), and it refuses
//! pieces that do not fit the stream.

use lacquer_analysis::{AnalysisError, FirstPass, analyze};
use lacquer_core::AudioBuffer;
use lacquer_testkit::music::demo_mix;
use lacquer_testkit::{Rng, pink_noise, sine};

fn as_json(a: &lacquer_core::Analysis) -> String {
    serde_json::to_string(a).expect("analysis serialises")
}

/// Random piece lengths: mostly up to ~0.2 s, sometimes a few frames (so
/// pieces end inside a 10 ms block, an FFT frame and a true-peak block).
fn cuts(rng: &mut Rng, frames: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < frames {
        let len = if rng.range(0, 4) == 0 {
            rng.range(1, 40)
        } else {
            rng.range(1, 9_000)
        };
        let end = (at + len).min(frames);
        out.push((at, end));
        at = end;
    }
    out
}

fn pieces(buffer: &AudioBuffer, (from, to): (usize, usize)) -> Vec<&[f32]> {
    buffer.channels().iter().map(|c| &c[from..to]).collect()
}

fn streamed(buffer: &AudioBuffer, rng: &mut Rng, parallel: bool) -> lacquer_core::Analysis {
    let mut first = FirstPass::new(buffer.sample_rate(), buffer.num_channels())
        .unwrap()
        .parallel(parallel);
    for cut in cuts(rng, buffer.len()) {
        first.push(&pieces(buffer, cut)).unwrap();
    }
    let measured = first.finish().unwrap();
    let mut second = measured.second_pass();
    for cut in cuts(rng, buffer.len()) {
        second.push(&pieces(buffer, cut)).unwrap();
    }
    second.finish().unwrap()
}

fn test_signals() -> Vec<(&'static str, AudioBuffer)> {
    let mut rng = Rng::new(11);
    // A quiet intro, then programme: gates and pruning both matter.
    let mut intro_then_mix = demo_mix(44_100, 7.0, -3.0, 9);
    for channel in intro_then_mix.channels_mut() {
        for s in &mut channel[..44_100] {
            *s *= 0.001;
        }
    }
    // Flat full-scale runs that pieces will cut through.
    let mut clipped = sine(48_000, 4.0, 50.0, 3.0, 0.0);
    for s in &mut clipped {
        *s = s.clamp(-1.0, 1.0);
    }
    vec![
        ("demo mix 44.1 kHz", demo_mix(44_100, 9.0, -6.0, 3)),
        ("quiet intro", intro_then_mix),
        (
            "mono pink noise 48 kHz",
            AudioBuffer::new(48_000, vec![pink_noise(&mut rng, 48_000, 6.0, -18.0)]).unwrap(),
        ),
        (
            "clipped stereo sine",
            AudioBuffer::stereo(48_000, clipped.clone(), clipped).unwrap(),
        ),
        (
            "96 kHz noise (2x true peak)",
            AudioBuffer::stereo(
                96_000,
                pink_noise(&mut rng, 96_000, 3.0, -20.0),
                pink_noise(&mut rng, 96_000, 3.0, -22.0),
            )
            .unwrap(),
        ),
        (
            "shorter than one FFT frame",
            AudioBuffer::stereo(
                44_100,
                pink_noise(&mut rng, 44_100, 0.45, -20.0),
                pink_noise(&mut rng, 44_100, 0.45, -20.0),
            )
            .unwrap(),
        ),
    ]
}

#[test]
fn streamed_analysis_equals_whole_buffer_analysis() {
    let mut rng = Rng::new(2026);
    for (name, buffer) in test_signals() {
        let whole = as_json(&analyze(&buffer).unwrap());
        for round in 0..3 {
            let got = as_json(&streamed(&buffer, &mut rng, round == 2));
            assert!(
                got == whole,
                "{name}, round {round}: streamed analysis differs"
            );
        }
    }
}

#[test]
fn first_pass_alone_gives_loudness_and_true_peak() {
    let buffer = demo_mix(44_100, 6.0, -4.0, 1);
    let whole = analyze(&buffer).unwrap();
    let mut first = FirstPass::new(44_100, 2).unwrap();
    let mut rng = Rng::new(3);
    for cut in cuts(&mut rng, buffer.len()) {
        first.push(&pieces(&buffer, cut)).unwrap();
    }
    let measured = first.finish().unwrap();
    assert_eq!(
        measured.integrated_lufs(),
        whole.loudness.integrated_lufs,
        "integrated loudness"
    );
    assert_eq!(
        measured.max_true_peak_dbtp(),
        whole.loudness.max_true_peak_dbtp,
        "true peak"
    );
    assert_eq!(measured.frames(), buffer.len());
}

#[test]
fn pieces_that_do_not_fit_the_stream_are_errors() {
    let buffer = demo_mix(44_100, 2.0, -4.0, 1);
    let (l, r) = (buffer.channel(0), buffer.channel(1));
    let mut first = FirstPass::new(44_100, 2).unwrap();
    assert_eq!(
        first.push(&[l]),
        Err(AnalysisError::PieceChannels {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(first.push(&[l, &r[1..]]), Err(AnalysisError::PieceLengths));
    first.push(&[&l[..1000], &r[..1000]]).unwrap();
    let mut bad = r[1000..2000].to_vec();
    bad[7] = f32::NAN;
    assert_eq!(
        first.push(&[&l[1000..2000], &bad]),
        Err(AnalysisError::NonFiniteSample {
            channel: 1,
            frame: 1007
        })
    );
    first.push(&[&l[1000..], &r[1000..]]).unwrap();
    let measured = first.finish().unwrap();

    // The second pass must see exactly the frames the first one did.
    let mut short = measured.second_pass();
    short.push(&[&l[..500], &r[..500]]).unwrap();
    assert_eq!(
        short.finish().err(),
        Some(AnalysisError::SecondPassLength {
            first: buffer.len(),
            second: 500
        })
    );
    let mut long = measured.second_pass();
    long.push(&[l, r]).unwrap();
    assert_eq!(
        long.push(&[&l[..1], &r[..1]]),
        Err(AnalysisError::SecondPassLength {
            first: buffer.len(),
            second: buffer.len() + 1
        })
    );

    assert_eq!(
        FirstPass::new(44_100, 2).unwrap().finish().err(),
        Some(AnalysisError::Empty)
    );
    assert!(matches!(
        FirstPass::new(44_100, 3),
        Err(AnalysisError::UnsupportedChannels { channels: 3 })
    ));
    assert!(matches!(
        FirstPass::new(4_000, 2),
        Err(AnalysisError::UnsupportedSampleRate { rate_hz: 4_000 })
    ));
}
