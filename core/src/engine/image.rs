//! The model image a board runs: the quantised encoder and (or) decoder of one model as bytes that the firmware
//! compiles in, read with no heap and every length, format and code checked before anything runs.

use super::{MAX_VALUES, Scratch};
use crate::ModelId;
use crate::fixed::{FixedFormat, LayerFormats, Overflow, Quantization, integer_sum};
use crate::protocol::MAX_NAME;

/// The first bytes of an image (version 1).
pub const MAGIC: [u8; 8] = *b"BALERFW1";
/// The most layers with parameters a network may have.
pub const MAX_LAYERS: usize = 16;
/// Bytes of a format: signed, width, integer bits (`i16`), quantisation, overflow, saturation bits, 0.
pub(super) const FORMAT_BYTES: usize = 8;
/// Bytes of an accumulator start (the bias converted to the accumulator), an `i128`.
pub(super) const START_BYTES: usize = 16;

/// Why bytes are not a model image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Not an image of this version.
    Magic,
    /// Shorter or longer than its contents.
    Length,
    /// A field out of its range, in network `network` (0 encoder, 1 decoder) at layer `layer` if one is named.
    Field {
        /// 0 the encoder, 1 the decoder.
        network: u8,
        /// The layer, counted among layers with parameters.
        layer: Option<u8>,
        /// What is wrong.
        what: &'static str,
    },
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ImageError::Magic => f.write_str("not a baler firmware model image (version 1)"),
            ImageError::Length => f.write_str("the model image is cut or has bytes after its end"),
            ImageError::Field {
                network,
                layer,
                what,
            } => {
                let name = ["encoder", "decoder"][usize::from(network.min(1))];
                match layer {
                    Some(layer) => write!(f, "{name} layer {layer}: {what}"),
                    None => write!(f, "{name}: {what}"),
                }
            }
        }
    }
}

/// A parsed image: what the board says about itself and the networks it runs.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// The model both networks belong to.
    pub model_id: ModelId,
    /// The board's name for itself.
    pub name: &'a str,
    /// The encoder, if the board runs it.
    pub encoder: Option<Network<'a>>,
    /// The decoder, if the board runs it.
    pub decoder: Option<Network<'a>>,
}

/// A dense network in fixed point.
#[derive(Clone, Copy, Debug)]
pub struct Network<'a> {
    /// Format of the input codes.
    pub input: FixedFormat,
    /// Values per input frame.
    pub inputs: usize,
    layers: [Option<Layer<'a>>; MAX_LAYERS],
    count: usize,
}

/// One dense layer: its shape, arithmetic and codes.
#[derive(Clone, Copy, Debug)]
struct Layer<'a> {
    inputs: usize,
    outputs: usize,
    reuse: usize,
    formats: LayerFormats,
    /// Set when the accumulator truncates and wraps: the product shift of [`integer_sum`].
    integer: Option<i32>,
    weight_bytes: usize,
    /// Output-major weight codes (`[outputs][inputs]`), `weight_bytes` each, little-endian.
    weights: &'a [u8],
    /// One accumulator start per output, [`START_BYTES`] each.
    starts: &'a [u8],
}

/// Reads the image's bytes in order.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
        if n > self.bytes.len() {
            return Err(ImageError::Length);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ImageError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, ImageError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }

    fn i64(&mut self) -> Result<i64, ImageError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(b))
    }

    /// A format, or `None` where it is not a format this implementation accepts.
    fn format(&mut self) -> Result<Option<FixedFormat>, ImageError> {
        let b = self.take(FORMAT_BYTES)?;
        let (Some(&quantization), Some(&overflow)) = (
            Quantization::ALL.get(usize::from(b[4])),
            Overflow::ALL.get(usize::from(b[5])),
        ) else {
            return Ok(None);
        };
        let format = FixedFormat {
            signed: b[0] == 1,
            width: u32::from(b[1]),
            int_bits: i32::from(i16::from_le_bytes([b[2], b[3]])),
            quantization,
            overflow,
            saturation_bits: u32::from(b[6]),
        };
        let valid = b[0] <= 1 && b[7] == 0 && format.problem().is_none();
        Ok(valid.then_some(format))
    }
}

impl<'a> Image<'a> {
    /// Reads and checks an image.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ImageError> {
        let mut r = Reader { bytes };
        if r.take(MAGIC.len()).map_err(|_| ImageError::Magic)? != MAGIC {
            return Err(ImageError::Magic);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(r.take(16)?);
        let name_len = usize::from(r.u8()?);
        let field = |network, what| ImageError::Field {
            network,
            layer: None,
            what,
        };
        if name_len > MAX_NAME {
            return Err(field(
                0,
                "the board name is longer than the protocol allows",
            ));
        }
        let name = core::str::from_utf8(r.take(name_len)?)
            .map_err(|_| field(0, "the board name is not UTF-8"))?;
        let present = r.u8()?;
        if present & !0b11 != 0 || present == 0 {
            return Err(field(
                0,
                "the image must hold an encoder, a decoder or both",
            ));
        }
        let mut image = Image {
            model_id: ModelId(id),
            name,
            encoder: None,
            decoder: None,
        };
        if present & 1 != 0 {
            image.encoder = Some(Network::parse(&mut r, 0)?);
        }
        if present & 2 != 0 {
            image.decoder = Some(Network::parse(&mut r, 1)?);
        }
        if !r.bytes.is_empty() {
            return Err(ImageError::Length);
        }
        Ok(image)
    }
}

/// The code of the extreme magnitude of a format, as an exact value (for the overflow checks).
fn extreme(f: FixedFormat) -> crate::fixed::Exact {
    f.exact(if f.signed { f.min_code() } else { f.max_code() })
}

impl<'a> Network<'a> {
    fn parse(r: &mut Reader<'a>, network: u8) -> Result<Self, ImageError> {
        let input = r.format()?.ok_or(ImageError::Field {
            network,
            layer: None,
            what: "the input format is not a valid ap_fixed format",
        })?;
        let inputs = r.u16()?;
        let count = usize::from(r.u8()?);
        if count == 0 || count > MAX_LAYERS || inputs == 0 || inputs > MAX_VALUES {
            return Err(ImageError::Field {
                network,
                layer: None,
                what: "1 to 16 layers of 1 to 1024 values are supported",
            });
        }
        let mut layers = [None; MAX_LAYERS];
        let (mut incoming, mut values) = (input, inputs);
        for (index, slot) in layers.iter_mut().take(count).enumerate() {
            let layer = Layer::parse(r, incoming, network, index as u8)?;
            if layer.inputs != values {
                return Err(ImageError::Field {
                    network,
                    layer: Some(index as u8),
                    what: "its inputs are not the previous layer's outputs",
                });
            }
            incoming = layer.formats.activation.unwrap_or(layer.formats.result);
            values = layer.outputs;
            *slot = Some(layer);
        }
        Ok(Network {
            input,
            inputs,
            layers,
            count,
        })
    }

    /// The layers in order.
    fn layers(&self) -> impl Iterator<Item = &Layer<'a>> {
        self.layers[..self.count].iter().flatten()
    }

    /// Values per output frame.
    pub fn outputs(&self) -> usize {
        self.layers().last().map_or(0, |l| l.outputs)
    }

    /// Format of the output codes.
    pub fn output(&self) -> FixedFormat {
        self.layers().last().map_or(self.input, |l| {
            l.formats.activation.unwrap_or(l.formats.result)
        })
    }

    /// Runs one frame of input codes (in [`Self::input`]; [`Self::inputs`] of them); returns the output codes.
    pub fn run<'s>(
        &self,
        input: impl Iterator<Item = i64>,
        scratch: &'s mut Scratch,
    ) -> &'s [i128] {
        let (mut current, mut next) = (&mut scratch.a, &mut scratch.b);
        for (slot, code) in current.iter_mut().zip(input).take(self.inputs) {
            *slot = i128::from(code);
        }
        let mut values = self.inputs;
        for layer in self.layers() {
            layer.run(
                &current[..values],
                &mut scratch.narrow,
                &mut next[..layer.outputs],
            );
            values = layer.outputs;
            core::mem::swap(&mut current, &mut next);
        }
        &current[..values]
    }
}

impl<'a> Layer<'a> {
    fn parse(
        r: &mut Reader<'a>,
        input: FixedFormat,
        network: u8,
        index: u8,
    ) -> Result<Self, ImageError> {
        let fail = |what| ImageError::Field {
            network,
            layer: Some(index),
            what,
        };
        let (inputs, outputs, reuse) = (r.u16()?, r.u16()?, r.u16()?);
        let bad_format = || fail("a format is not a valid ap_fixed format");
        let weight = r.format()?.ok_or_else(bad_format)?;
        let accum = r.format()?.ok_or_else(bad_format)?;
        let result = r.format()?.ok_or_else(bad_format)?;
        let has_activation = r.u8()?;
        let activation_format = r.format()?;
        let has_alpha = r.u8()?;
        let alpha_format = r.format()?;
        let alpha_code = r.i64()?;
        let weight_bytes = usize::from(r.u8()?);
        if inputs == 0 || outputs == 0 || inputs > MAX_VALUES || outputs > MAX_VALUES {
            return Err(fail("1 to 1024 inputs and outputs are supported"));
        }
        if reuse == 0 || has_activation > 1 || has_alpha > has_activation {
            return Err(fail("a flag or the reuse factor is out of range"));
        }
        let activation = match has_activation {
            1 => Some(activation_format.ok_or_else(bad_format)?),
            _ => None,
        };
        let alpha = match has_alpha {
            1 => {
                let format = alpha_format.ok_or_else(bad_format)?;
                let fits = i128::from(alpha_code) >= format.min_code()
                    && i128::from(alpha_code) <= format.max_code();
                if !fits || format.max_code() > i128::from(i64::MAX) {
                    return Err(fail("the LeakyReLU slope is not a code of its format"));
                }
                Some((format, alpha_code))
            }
            _ => None,
        };
        if weight.max_code() > i128::from(i64::MAX) || ![1, 2, 4, 8].contains(&weight_bytes) {
            return Err(fail("weight codes must fit 1, 2, 4 or 8 bytes"));
        }
        // what the reference's validation asks: every product and sum within 127 bits
        let fits = extreme(input).checked_mul(extreme(weight)).is_some()
            && extreme(accum).checked_add(extreme(accum)).is_some()
            && alpha.is_none_or(|(f, _)| extreme(result).checked_mul(extreme(f)).is_some());
        if !fits {
            return Err(fail(
                "input × weight or accumulator sums need more than 127 bits",
            ));
        }
        let formats = LayerFormats {
            input,
            weight,
            accum,
            result,
            activation,
            alpha,
        };
        let weights = r.take(inputs * outputs * weight_bytes)?;
        let starts = r.take(outputs * START_BYTES)?;
        let layer = Layer {
            inputs,
            outputs,
            reuse,
            integer: formats.integer_shift(),
            formats,
            weight_bytes,
            weights,
            starts,
        };
        let in_range = |code: i128, f: FixedFormat| code >= f.min_code() && code <= f.max_code();
        if !(0..inputs * outputs).all(|k| in_range(i128::from(layer.weight(k)), weight)) {
            return Err(fail("a weight code is outside the weight format"));
        }
        if !(0..outputs).all(|o| in_range(layer.start(o), accum)) {
            return Err(fail("a bias is outside the accumulator format"));
        }
        Ok(layer)
    }

    /// Weight code `k` (output-major), sign-extended.
    fn weight(&self, k: usize) -> i64 {
        let n = self.weight_bytes;
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(&self.weights[k * n..(k + 1) * n]);
        let shift = 64 - 8 * n as u32;
        (i64::from_le_bytes(word) << shift) >> shift
    }

    /// The accumulator start of output `o`.
    fn start(&self, o: usize) -> i128 {
        let mut word = [0u8; START_BYTES];
        word.copy_from_slice(&self.starts[o * START_BYTES..(o + 1) * START_BYTES]);
        i128::from_le_bytes(word)
    }

    /// One frame through the layer, in the reference's summation order (stride-`reuse` groups); `narrow` is room
    /// for the inputs as `i32`.
    fn run(&self, x: &[i128], narrow: &mut [i32], out: &mut [i128]) {
        let n = self.inputs;
        let input = self.formats.input;
        let fits_i32 = input.width < 32 || (input.width == 32 && input.signed);
        match self.integer {
            // the common case, made fast for soft cores: 32-bit inputs and weights, 64-bit sums
            Some(shift) if fits_i32 && self.weight_bytes <= 4 => {
                for (to, &from) in narrow.iter_mut().zip(x) {
                    *to = from as i32;
                }
                let x = &narrow[..n];
                match self.weight_bytes {
                    1 => self.integer_rows::<1>(x, shift, out),
                    2 => self.integer_rows::<2>(x, shift, out),
                    _ => self.integer_rows::<4>(x, shift, out),
                }
            }
            Some(shift) => {
                for (o, slot) in out.iter_mut().enumerate() {
                    let products = (0..n).map(|i| x[i] as i64 * self.weight(o * n + i));
                    let sum = integer_sum(self.start(o) as i64, products, shift);
                    *slot = self.formats.finish(self.formats.wrap_accum(sum));
                }
            }
            None => {
                for (o, slot) in out.iter_mut().enumerate() {
                    let mut acc = self.start(o);
                    for r in 0..self.reuse.min(n) {
                        for i in (r..n).step_by(self.reuse) {
                            acc = self.formats.mac(acc, x[i], self.weight(o * n + i));
                        }
                    }
                    *slot = self.formats.finish(acc);
                }
            }
        }
    }

    /// The integer path with weights of `N` bytes (1, 2 or 4) and inputs that fit an `i32`.
    fn integer_rows<const N: usize>(&self, x: &[i32], shift: i32, out: &mut [i128]) {
        let rows = self.weights.chunks_exact(N * self.inputs);
        for (o, (row, slot)) in rows.zip(out).enumerate() {
            let products = row.chunks_exact(N).zip(x).map(|(w, &x)| {
                let mut word = [0u8; 4];
                word[..N].copy_from_slice(w);
                let w = (i32::from_le_bytes(word) << (32 - 8 * N)) >> (32 - 8 * N);
                i64::from(x) * i64::from(w)
            });
            let sum = integer_sum(self.start(o) as i64, products, shift);
            *slot = self.formats.finish(self.formats.wrap_accum(sum));
        }
    }
}
