//! Compression and decompression with a trained model: normalise, encode in batches, store the latent
//! codes; and back: decode, undo the normalisation, round integer variables.

use crate::config::LatentPrecision;
use crate::data::Dataset;
use crate::error::Result;
use crate::format::{CompressedFile, Header};
use crate::model_store::{Decoder, Model, check_header, restore};
use crate::network::Network;
use crate::train::normalized;
use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;

const BATCH: usize = 8192;

/// Runs `network` over `rows` samples of `inputs` values each, in batches.
pub fn run_network(network: &Network, values: &[f32], inputs: usize, device: &Device) -> Vec<f32> {
    let mut out = Vec::new();
    for chunk in values.chunks(BATCH * inputs) {
        let rows = chunk.len() / inputs;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [rows, inputs]), device);
        let y = network.forward(x).into_data().convert::<f32>();
        out.extend(y.try_into_vec::<f32>().expect("f32 after convert"));
    }
    out
}

/// Encodes `data` (whose layout must match the model's training data) into a compressed file.
pub fn compress(
    model: &Model,
    data: &Dataset,
    source: &Path,
    precision: LatentPrecision,
    device: &Device,
) -> Result<CompressedFile> {
    model.decoder.data.check(data, source)?;
    let encoder = Network::from_params(&model.encoder, &model.encoder_params, device)?;
    let latent = run_network(
        &encoder,
        &normalized(data, &model.decoder.normalization),
        data.features(),
        device,
    );
    let latent = precision.store_all(latent.into_iter().map(f64::from))?;
    Ok(CompressedFile {
        header: Header {
            model_id: model.decoder.id.to_string(),
            kind: data.kind,
            shape: data.shape(),
            dtype: data.dtype,
            names: data.names.clone(),
            latent_size: model.decoder.latent(),
            latent_precision: precision,
        },
        latent,
    })
}

/// Restores the data of a compressed file with its model's decoder; a file made by another model is refused.
pub fn decompress(
    decoder: &Decoder,
    file: &CompressedFile,
    source: &Path,
    device: &Device,
) -> Result<Dataset> {
    let h = &file.header;
    check_header(h, decoder.id, decoder.latent(), &decoder.data, source)?;
    let network = Network::from_params(&decoder.network, &decoder.params, device)?;
    let output = run_network(&network, &file.latent, h.latent_size, device);
    let values = output.into_iter().map(f64::from).collect();
    Ok(restore(&decoder.normalization, &decoder.data, h, values))
}
