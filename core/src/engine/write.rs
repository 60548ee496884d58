//! Writes a model image (the layout [`super::image`] reads) from quantised networks: dense layers only, weights
//! in the fewest bytes that hold every code.

use super::MAX_VALUES;
use super::image::{FORMAT_BYTES, MAGIC, MAX_LAYERS, START_BYTES};
use crate::ModelId;
use crate::fixed::{FixedFormat, Overflow, Quantization};
use crate::model::{Activation, LayerSpec};
use crate::protocol::MAX_NAME;
use crate::quantized::{QuantizedError, QuantizedNetwork};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The image of the model `model_id` holding `encoder` and (or) `decoder` (validated networks), for a board
/// called `name`. A network the engine cannot run (a convolution, more than [`MAX_LAYERS`] layers or
/// [`MAX_VALUES`] values) is refused, naming the layer.
pub fn write_image(
    model_id: ModelId,
    name: &str,
    encoder: Option<&QuantizedNetwork>,
    decoder: Option<&QuantizedNetwork>,
) -> Result<Vec<u8>, QuantizedError> {
    let fail = |layer, message: String| QuantizedError { layer, message };
    if name.len() > MAX_NAME {
        return Err(fail(
            None,
            format!("the board name {name:?} is longer than {MAX_NAME} bytes"),
        ));
    }
    let mut out = Vec::from(MAGIC);
    out.extend_from_slice(&model_id.0);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(u8::from(encoder.is_some()) | (u8::from(decoder.is_some()) << 1));
    for (role, network) in [("encoder", encoder), ("decoder", decoder)] {
        if let Some(network) = network {
            put_network(&mut out, network).map_err(|message| QuantizedError {
                layer: None,
                message: format!("{role} {message}"),
            })?;
        }
    }
    Ok(out)
}

/// Appends one network; the error names the layer (`layer 2 (…): …`).
fn put_network(out: &mut Vec<u8>, network: &QuantizedNetwork) -> Result<(), String> {
    let inputs: usize = network.input_shape.iter().product();
    for (index, layer) in network.layers.iter().enumerate() {
        if !matches!(
            layer.spec,
            LayerSpec::Dense { .. } | LayerSpec::Flatten | LayerSpec::Unflatten { .. }
        ) {
            return Err(format!(
                "layer {index} ({:?}): the firmware engine runs dense layers only",
                layer.spec
            ));
        }
    }
    let dense = network.layers.iter().filter(|l| l.fixed.is_some()).count();
    if dense > MAX_LAYERS || inputs > MAX_VALUES {
        return Err(format!(
            "has {dense} layers and {inputs} inputs: the firmware engine runs at most {MAX_LAYERS} layers of \
             {MAX_VALUES} values"
        ));
    }
    put_format(out, network.input);
    out.extend_from_slice(&(inputs as u16).to_le_bytes());
    out.push(dense as u8);
    for (index, layer) in network.layers.iter().enumerate() {
        let (
            spec,
            LayerSpec::Dense {
                inputs, outputs, ..
            },
            Some(fixed),
        ) = (&layer.spec, layer.spec, &layer.fixed)
        else {
            continue;
        };
        if outputs > MAX_VALUES {
            return Err(format!(
                "layer {index}: {outputs} outputs; the firmware engine runs at most {MAX_VALUES}"
            ));
        }
        for v in [
            inputs,
            outputs,
            fixed.reuse_factor.min(usize::from(u16::MAX)),
        ] {
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        for f in [fixed.weight, fixed.accum, fixed.result] {
            put_format(out, f);
        }
        out.push(u8::from(fixed.activation.is_some()));
        put_format(out, fixed.activation.unwrap_or(fixed.result));
        let alpha = fixed
            .alpha
            .filter(|_| matches!(spec.activation(), Activation::LeakyRelu { .. }));
        out.push(u8::from(alpha.is_some()));
        put_format(out, alpha.map_or(fixed.result, |a| a.format));
        out.extend_from_slice(&alpha.map_or(0, |a| a.code).to_le_bytes());
        let bytes = [1usize, 2, 4, 8]
            .into_iter()
            .find(|&n| {
                let shift = 64 - 8 * n as u32;
                fixed.weights.iter().all(|&w| (w << shift) >> shift == w)
            })
            .unwrap_or(8);
        out.push(bytes as u8);
        for o in 0..outputs {
            for i in 0..inputs {
                out.extend_from_slice(&fixed.weights[i * outputs + o].to_le_bytes()[..bytes]);
            }
        }
        for &b in &fixed.biases {
            let start = fixed.accum.convert(fixed.bias.exact(i128::from(b)));
            out.extend_from_slice(&start.to_le_bytes()[..START_BYTES]);
        }
    }
    Ok(())
}

fn put_format(out: &mut Vec<u8>, f: FixedFormat) {
    let index = |q| Quantization::ALL.iter().position(|&x| x == q).unwrap_or(0) as u8;
    let overflow = Overflow::ALL
        .iter()
        .position(|&x| x == f.overflow)
        .unwrap_or(0) as u8;
    let mut b = [0u8; FORMAT_BYTES];
    b[0] = u8::from(f.signed);
    b[1] = f.width as u8;
    b[2..4].copy_from_slice(&(f.int_bits as i16).to_le_bytes());
    b[4] = index(f.quantization);
    b[5] = overflow;
    b[6] = f.saturation_bits as u8;
    out.extend_from_slice(&b);
}
