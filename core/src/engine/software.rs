//! The software engine: a model image's networks run on the frames of ENCODE and DECODE requests, codes in and
//! codes out, with no heap.

use super::{Image, Network, Scratch, code_bytes};
use crate::protocol::{Accelerator, Codes, CodesWriter, ErrorCode, Info, MAX_PAYLOAD, VERSION};

/// Runs the networks of an image.
pub struct SoftwareEngine<'a> {
    image: Image<'a>,
    scratch: Scratch,
}

impl<'a> SoftwareEngine<'a> {
    /// An engine for `image`.
    pub fn new(image: Image<'a>) -> Self {
        SoftwareEngine {
            image,
            scratch: Scratch::default(),
        }
    }
}

/// The frames of `codes` through `network`, as a [`Codes`] payload in `out`.
fn run(
    network: &Network<'_>,
    codes: &Codes<'_>,
    scratch: &mut Scratch,
    out: &mut [u8],
) -> Result<usize, ErrorCode> {
    let (outputs, width) = (network.outputs(), usize::from(code_bytes(network.output())));
    if codes.values != network.inputs {
        return Err(ErrorCode::Accelerator);
    }
    let fail = |_| ErrorCode::Accelerator;
    let mut writer = CodesWriter::new(out, codes.frames, outputs, width).map_err(fail)?;
    let mut input = codes.iter();
    for _ in 0..codes.frames {
        for &code in network.run(input.by_ref().take(network.inputs), scratch) {
            writer
                .push(i64::try_from(code).map_err(|_| ErrorCode::Accelerator)?)
                .map_err(fail)?;
        }
    }
    writer.finish().map_err(fail)
}

impl Accelerator for SoftwareEngine<'_> {
    fn info(&self) -> Info<'_> {
        let (e, d) = (self.image.encoder.as_ref(), self.image.decoder.as_ref());
        let inputs = e.map(|e| e.inputs).or(d.map(Network::outputs)).unwrap_or(0);
        let latent = e.map(Network::outputs).or(d.map(|d| d.inputs)).unwrap_or(0);
        let latent_format = e.map(Network::output).or(d.map(|d| d.input));
        Info {
            version: VERSION,
            model_id: self.image.model_id,
            inputs: inputs as u16,
            latent: latent as u16,
            code_bytes: [
                e.map_or(0, |e| code_bytes(e.input)),
                latent_format.map_or(0, code_bytes),
                d.map_or(0, |d| code_bytes(d.output())),
            ],
            max_payload: MAX_PAYLOAD as u16,
            engine: 0,
            name: self.image.name,
        }
    }

    fn encode(&mut self, input: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        let network = self.image.encoder.as_ref().ok_or(ErrorCode::Unsupported)?;
        run(network, input, &mut self.scratch, out)
    }

    fn decode(&mut self, latent: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
        let network = self.image.decoder.as_ref().ok_or(ErrorCode::Unsupported)?;
        run(network, latent, &mut self.scratch, out)
    }
}
