//! Payload efficiency of the serial link (a measurement, not a timed test): ECHO requests of 16, 64, 256 and 1,024
//! bytes through `serial:` to the emulated board on a pseudo-terminal, paced at 115,200, 921,600 and 3,000,000 baud.
//! Efficiency is payload bytes per second in one direction ÷ (baud / 10), beside the protocol's ceiling (payload ÷
//! the frame's bytes on the wire). Prints a table.
//!   cargo run --release -p baler-benches --bin serial_link [SECONDS per cell, default 2]

use baler::model::QuantizedModel;
use baler::runtime::serial::{Client, ClientOptions, Faults, PortLink, PtyBoard};
use baler_benches::repo;
use baler_core::engine::write_image;
use baler_core::protocol::{Frame, MAX_WIRE};
use std::time::{Duration, Instant};

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map_or(2.0, |s| s.parse().expect("SECONDS is a number"));
    let model =
        QuantizedModel::load(&repo().join("models/jets-baler-9to5")).expect("quantised jet model");
    println!(
        "| baud | payload B | wire B per frame | ceiling | payload B/s | efficiency | of the ceiling |"
    );
    println!("|---|---|---|---|---|---|---|");
    for baud in [115_200u32, 921_600, 3_000_000] {
        let id = model.decoder.id;
        let image = write_image(id, "twin", Some(&model.encoder), None).expect("a dense model");
        let board = PtyBoard::spawn(image, baud, Faults::default(), 1).expect("pty");
        let link = PortLink::open(board.path(), baud).expect("open the pty");
        let byte_time = 10.0 / f64::from(baud);
        let options = ClientOptions {
            window: 16,
            timeout: Duration::from_secs_f64(0.2 + 32.0 * MAX_WIRE as f64 * byte_time),
            ..ClientOptions::default()
        };
        let mut client = Client::connect(link, id, options).expect("HELLO answered");
        for size in [16usize, 64, 256, 1024] {
            let payload: Vec<u8> = (0..size).map(|i| (i * 7 + 1) as u8).collect();
            let mut wire = vec![0u8; MAX_WIRE];
            let on_wire = Frame {
                command: 7,
                seq: 1,
                payload: &payload,
            }
            .write(&mut wire)
            .expect("fits");
            let ceiling = size as f64 / on_wire as f64;
            // enough requests for the time asked, sent in one exchange so the window stays full
            let count = ((seconds * f64::from(baud) / 10.0 / on_wire as f64) as usize).max(100);
            let requests = vec![payload.clone(); count];
            let start = Instant::now();
            let replies = client.echo(&requests).expect("echoed");
            let elapsed = start.elapsed().as_secs_f64();
            assert!(replies.iter().all(|r| *r == payload));
            let rate = (count * size) as f64 / elapsed;
            let efficiency = rate / (f64::from(baud) / 10.0);
            println!(
                "| {baud} | {size} | {on_wire} | {:.1} % | {rate:.0} | {:.1} % | {:.1} % |",
                100.0 * ceiling,
                100.0 * efficiency,
                100.0 * efficiency / ceiling
            );
        }
    }
}
