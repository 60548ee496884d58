//! The firmware's software engine, as the host builds it for its emulated boards: the quantised encoder and (or)
//! decoder run by core's fixed-point reference on codes in and codes out, bit-exact with `cpu-fixed`.

use baler_core::ModelId;
use baler_core::fixed::FixedFormat;
use baler_core::protocol::{Accelerator, Codes, ErrorCode, Info, MAX_PAYLOAD, VERSION};
use baler_core::quantized::{FixedRunner, QuantizedNetwork};

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

/// The quantised encoder and (or) decoder of one model.
pub struct SoftwareEngine {
    model_id: ModelId,
    name: String,
    encoder: Option<Network>,
    decoder: Option<Network>,
}

impl SoftwareEngine {
    /// An engine for the model `model_id` running its `encoder` and (or) `decoder` (validated networks).
    pub fn new(
        model_id: ModelId,
        name: &str,
        encoder: Option<&QuantizedNetwork>,
        decoder: Option<&QuantizedNetwork>,
    ) -> Self {
        SoftwareEngine {
            model_id,
            name: name.into(),
            encoder: encoder.map(Network::new),
            decoder: decoder.map(Network::new),
        }
    }
}

impl Accelerator for SoftwareEngine {
    fn info(&self) -> Info<'_> {
        let (e, d) = (self.encoder.as_ref(), self.decoder.as_ref());
        let inputs = e.map(|e| e.inputs).or(d.map(|d| d.outputs)).unwrap_or(0);
        let latent = e.map(|e| e.outputs).or(d.map(|d| d.inputs)).unwrap_or(0);
        let latent_format = e.map(|e| e.output).or(d.map(|d| d.input));
        Info {
            version: VERSION,
            model_id: self.model_id,
            inputs: inputs as u16,
            latent: latent as u16,
            code_bytes: [
                e.map_or(0, |e| code_bytes(e.input)),
                latent_format.map_or(0, code_bytes),
                d.map_or(0, |d| code_bytes(d.output)),
            ],
            max_payload: MAX_PAYLOAD as u16,
            engine: 0,
            name: &self.name,
        }
    }

    fn encode(&mut self, input: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        self.encoder
            .as_ref()
            .ok_or(ErrorCode::Unsupported)?
            .run(input, out)
    }

    fn decode(&mut self, latent: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        self.decoder
            .as_ref()
            .ok_or(ErrorCode::Unsupported)?
            .run(latent, out)
    }
}
