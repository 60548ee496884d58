//! Fault injection on the emulated board (a proof, not a timed benchmark): the jet table's input codes, repeated to
//! FRAMES frames (default 100,000), encoded through `TwinLink` once per fault kind at 1e-3 per byte (resets at 1e-4 per
//! byte to the board); every latent code compared with the fixed-point reference's. Prints one row per kind.
//!   cargo run --release -p baler-benches --bin serial_faults [FRAMES]

use baler::model::QuantizedModel;
use baler::runtime::serial::{Client, ClientOptions, Faults, TwinLink};
use baler_benches::{jets, repo};
use baler_core::engine::{Image, write_image};
use std::time::{Duration, Instant};

fn main() {
    let frames: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |n| n.parse().expect("FRAMES is a number"));
    let model =
        QuantizedModel::load(&repo().join("models/jets-baler-9to5")).expect("quantised jet model");
    let (_, data) = jets();
    let normalized = data.normalized(&model.decoder.normalization);
    let encoder = &model.encoder;
    let input: Vec<i64> = normalized
        .iter()
        .cycle()
        .take(frames * 9)
        .map(|&v| encoder.input.from_f64(v) as i64)
        .collect();
    let runner = encoder.runner();
    let reference: Vec<i64> = input
        .chunks(9)
        .flat_map(|codes| {
            let values: Vec<f64> = codes
                .iter()
                .map(|&c| encoder.input.value_of(i128::from(c)))
                .collect();
            runner.run(&values)
        })
        .map(|c| c as i64)
        .collect();
    let kinds = Faults::each_kind(1e-3, 1e-4);
    let options = ClientOptions {
        window: 4,
        timeout: Duration::from_millis(5),
        attempts: 50,
        batch: 8,
    };
    println!(
        "| fault (rate per byte) | frames | injected | requests | resent | timeouts | damaged replies | damaged requests | duplicates dropped | resets noticed | latent codes differing | s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let id = model.decoder.id;
    let (encoder, decoder) = (&model.encoder, &model.decoder.network);
    let image = write_image(id, "twin", Some(encoder), Some(decoder)).expect("a dense model");
    for (seed, (kind, faults)) in kinds.into_iter().enumerate() {
        let link = TwinLink::new(Image::parse(&image).expect("an image"), faults, seed as u64);
        let start = Instant::now();
        let mut client = Client::connect(link, id, options).expect("HELLO answered");
        let latent = client.encode(&input).expect("every frame delivered");
        let differing = latent.len().abs_diff(reference.len())
            + latent
                .iter()
                .zip(&reference)
                .filter(|(a, b)| a != b)
                .count();
        let injected = client.link_mut().injector.counts.total();
        let c = client.counters;
        let rate = if kind == "board reset" {
            "1e-4"
        } else {
            "1e-3"
        };
        println!(
            "| {kind} ({rate}) | {frames} | {injected} | {} | {} | {} | {} | {} | {} | {} | {differing} | {:.1} |",
            c.requests,
            c.resent,
            c.timeouts,
            c.damaged_replies,
            c.damaged_requests,
            c.duplicates,
            c.boots,
            start.elapsed().as_secs_f64()
        );
        assert_eq!(differing, 0, "{kind}: frames lost, reordered or corrupted");
    }
}
