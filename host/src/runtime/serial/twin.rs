//! An emulated board in the process: the firmware's frame server (`baler_core::protocol::Server`) in front of a
//! software engine running the quantised model, behind a link that injects faults in both directions (bit flips,
//! dropped, duplicated and inserted bytes, garbage bursts, board resets) at configured rates per byte. What the
//! client's retries and resynchronisation are tested against; it does not pace bytes.

use super::client::Link;
use baler_core::ModelId;
use baler_core::fixed::FixedFormat;
use baler_core::protocol::{Accelerator, Codes, ErrorCode, Info, MAX_PAYLOAD, Server, VERSION};
use baler_core::quantized::{FixedRunner, QuantizedNetwork};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::time::Duration;

/// Bytes per code of a format.
pub fn code_bytes(format: FixedFormat) -> u8 {
    format.width.div_ceil(8) as u8
}

/// One network in fixed point, codes in and codes out.
struct Network {
    runner: FixedRunner,
    input: FixedFormat,
    output: FixedFormat,
    inputs: usize,
    outputs: usize,
}

impl Network {
    fn new(network: &QuantizedNetwork) -> Self {
        Network {
            runner: network.runner(),
            input: network.input,
            output: network.output(),
            inputs: network.input_shape.iter().product(),
            outputs: network
                .spec()
                .output_shape()
                .map_or(0, |s| s.iter().product()),
        }
    }

    /// The output codes of `codes` (frames of inputs), as a [`Codes`] payload in `out`.
    fn run(&self, codes: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        let values: Vec<f64> = codes
            .iter()
            .map(|c| self.input.value_of(i128::from(c)))
            .collect();
        let output: Vec<i64> = values
            .chunks(codes.values)
            .flat_map(|frame| self.runner.run(frame))
            .map(|c| c as i64)
            .collect();
        let width = usize::from(code_bytes(self.output));
        Codes::write(output, codes.frames, self.outputs, width, out)
            .map_err(|_| ErrorCode::Accelerator)
    }
}

/// The firmware's software engine: the quantised encoder and, when given, decoder, as `cpu-fixed` runs them.
pub struct SoftwareEngine {
    model_id: ModelId,
    name: String,
    encoder: Network,
    decoder: Option<Network>,
}

impl SoftwareEngine {
    /// An engine for the model `model_id` running `encoder` and optionally `decoder` (validated networks).
    pub fn new(
        model_id: ModelId,
        name: &str,
        encoder: &QuantizedNetwork,
        decoder: Option<&QuantizedNetwork>,
    ) -> Self {
        SoftwareEngine {
            model_id,
            name: name.into(),
            encoder: Network::new(encoder),
            decoder: decoder.map(Network::new),
        }
    }
}

impl Accelerator for SoftwareEngine {
    fn info(&self) -> Info<'_> {
        let (inputs, latent) = (self.encoder.inputs, self.encoder.outputs);
        Info {
            version: VERSION,
            model_id: self.model_id,
            inputs: inputs as u16,
            latent: latent as u16,
            code_bytes: [
                code_bytes(self.encoder.input),
                code_bytes(self.encoder.output),
                self.decoder.as_ref().map_or(0, |d| code_bytes(d.output)),
            ],
            max_payload: MAX_PAYLOAD as u16,
            engine: 0,
            name: &self.name,
        }
    }

    fn encode(&mut self, input: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        self.encoder.run(input, out)
    }

    fn decode(&mut self, latent: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        match &self.decoder {
            Some(d) => d.run(latent, out),
            None => Err(ErrorCode::Unsupported),
        }
    }
}

/// Rates of faults per byte on the link, in each direction; a board reset per byte the board receives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// A bit of the byte flipped.
    pub flip: f64,
    /// The byte lost.
    pub drop: f64,
    /// The byte arrives twice.
    pub duplicate: f64,
    /// A random byte arrives before it.
    pub insert: f64,
    /// A burst of 1 to 64 random bytes arrives before it.
    pub garbage: f64,
    /// The board restarts (losing what it was receiving) and sends its BOOT frame.
    pub reset: f64,
}

/// The faults injected so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Bits flipped.
    pub flips: u64,
    /// Bytes dropped.
    pub drops: u64,
    /// Bytes duplicated.
    pub duplicates: u64,
    /// Bytes inserted.
    pub inserts: u64,
    /// Garbage bursts.
    pub garbage: u64,
    /// Board resets.
    pub resets: u64,
}

/// An emulated board behind a faulty link.
pub struct TwinLink {
    board: Server<SoftwareEngine>,
    make: Box<dyn Fn() -> SoftwareEngine + Send>,
    faults: Faults,
    rng: StdRng,
    /// What the injector did.
    pub counts: FaultCounts,
    /// Bytes on their way to the host.
    inbox: VecDeque<u8>,
}

impl TwinLink {
    /// A board built by `make` (again at each reset), faults at `faults`, random choices from `seed`. The board
    /// sends its BOOT frame first, as a real one does at power-on.
    pub fn new(
        make: impl Fn() -> SoftwareEngine + Send + 'static,
        faults: Faults,
        seed: u64,
    ) -> Self {
        let mut link = TwinLink {
            board: Server::new(make()),
            make: Box::new(make),
            faults,
            rng: StdRng::seed_from_u64(seed),
            counts: FaultCounts::default(),
            inbox: VecDeque::new(),
        };
        link.boot();
        link
    }

    /// Changes the rates of faults from now on.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    fn boot(&mut self) {
        let mut sent = Vec::new();
        self.board.boot(&mut |bytes| sent.extend_from_slice(bytes));
        self.carry(&sent, Direction::ToHost);
    }

    /// `bytes` through the faulty link: to the board (which answers) or to the host's inbox.
    fn carry(&mut self, bytes: &[u8], direction: Direction) {
        for &byte in bytes {
            let f = self.faults;
            if self.rng.random_bool(f.garbage.clamp(0.0, 1.0)) {
                self.counts.garbage += 1;
                let n = self.rng.random_range(1..=64);
                for _ in 0..n {
                    let junk = self.rng.random();
                    self.arrive(junk, direction);
                }
            }
            if self.rng.random_bool(f.insert.clamp(0.0, 1.0)) {
                self.counts.inserts += 1;
                let junk = self.rng.random();
                self.arrive(junk, direction);
            }
            if self.rng.random_bool(f.drop.clamp(0.0, 1.0)) {
                self.counts.drops += 1;
                continue;
            }
            let mut byte = byte;
            if self.rng.random_bool(f.flip.clamp(0.0, 1.0)) {
                self.counts.flips += 1;
                byte ^= 1 << self.rng.random_range(0..8);
            }
            self.arrive(byte, direction);
            if self.rng.random_bool(f.duplicate.clamp(0.0, 1.0)) {
                self.counts.duplicates += 1;
                self.arrive(byte, direction);
            }
        }
    }

    fn arrive(&mut self, byte: u8, direction: Direction) {
        match direction {
            Direction::ToHost => self.inbox.push_back(byte),
            Direction::ToBoard => {
                if self.rng.random_bool(self.faults.reset.clamp(0.0, 1.0)) {
                    self.counts.resets += 1;
                    self.board = Server::new((self.make)());
                    self.boot();
                }
                let mut sent = Vec::new();
                self.board
                    .push(byte, &mut |bytes| sent.extend_from_slice(bytes));
                self.carry(&sent, Direction::ToHost);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    ToBoard,
    ToHost,
}

impl Link for TwinLink {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.carry(bytes, Direction::ToBoard);
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
        if self.inbox.is_empty() {
            // the board answers as bytes arrive: nothing more comes until the host sends
            std::thread::sleep(timeout);
            return Ok(0);
        }
        let n = buf.len().min(self.inbox.len());
        for (slot, byte) in buf.iter_mut().zip(self.inbox.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}
