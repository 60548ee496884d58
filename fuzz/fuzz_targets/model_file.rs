//! Fuzzes the model readers (float `decoder.json` + `decoder.safetensors` + encoder, and the quantised
//! JSON files and the packed quantised decoder) through their from-bytes entries, which the loaders from disk also use: any bytes must give
//! a model whose parts fit together, or an error, never a panic or an allocation a count merely claims.
//! Input: one byte choosing the reader, then the files, each but the last preceded by its length (u32 LE).
#![no_main]

use baler::model::{Decoder, Model};
use baler::model::{QuantizedDecoder, QuantizedModel};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// `n` parts of `bytes`: each but the last is preceded by its length as a little-endian u32.
fn split(mut bytes: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::with_capacity(n);
    for _ in 1..n {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > rest.len() {
            return None;
        }
        let (part, rest) = rest.split_at(len);
        parts.push(part);
        bytes = rest;
    }
    parts.push(bytes);
    Some(parts)
}

/// What every loaded decoder guarantees to the code that runs it.
fn check_decoder(decoder: &Decoder, dir: &Path) {
    decoder.validate(dir).expect("a loaded decoder is valid");
    assert!(decoder.latent() > 0);
    let features = decoder.data.features().expect("bounded");
    let output: usize = decoder.network.output_shape().unwrap().iter().product();
    assert_eq!(output, features);
}

fn check_quantized(decoder: &QuantizedDecoder) {
    assert!(decoder.latent() > 0);
    decoder
        .network
        .validate()
        .expect("a loaded network is valid");
    let features = decoder.data.features().expect("bounded");
    let output: usize = decoder
        .network
        .spec()
        .output_shape()
        .unwrap()
        .iter()
        .product();
    assert_eq!(output, features);
    assert_eq!(
        decoder.normalization.variables(),
        decoder.data.normalization_variables()
    );
}

fuzz_target!(|bytes: &[u8]| {
    let dir = Path::new("fuzz-model");
    let Some((&choice, rest)) = bytes.split_first() else {
        return;
    };
    match choice % 5 {
        0 => {
            if let Some([json, weights]) = split(rest, 2).as_deref()
                && let Ok(decoder) = Decoder::from_bytes(dir, json, weights)
            {
                check_decoder(&decoder, dir);
            }
        }
        1 => {
            if let Some([dj, dw, ej, ew]) = split(rest, 4).as_deref()
                && let Ok(model) = Model::from_bytes(dir, dj, dw, ej, ew)
            {
                check_decoder(&model.decoder, dir);
                let latent = model.encoder.output_shape().unwrap();
                assert_eq!(latent, vec![model.decoder.latent()]);
            }
        }
        2 => {
            if let Ok(decoder) = QuantizedDecoder::from_bytes(dir, rest) {
                check_quantized(&decoder);
            }
        }
        4 => {
            if let Ok(decoder) = QuantizedDecoder::from_packed(dir, rest) {
                check_quantized(&decoder);
            }
        }
        _ => {
            if let Some([dj, ej]) = split(rest, 2).as_deref()
                && let Ok(model) = QuantizedModel::from_bytes(dir, dj, ej)
            {
                check_quantized(&model.decoder);
                model.encoder.validate().expect("a loaded encoder is valid");
            }
        }
    }
});
