//! Generated projects for several models × strategies × io types × formats, C-simulated with g++ against the
//! real ap_fixed headers: every output code of every frame must equal the Rust reference's.

mod common;

use baler_core::Activation;
use baler_hls::{HlsConfig, IoType, Strategy};
use common::*;

fn config(name: &str, strategy: Strategy, io: IoType, reuse_factors: &[usize]) -> HlsConfig {
    HlsConfig {
        name: name.into(),
        strategy,
        io,
        reuse_factors: reuse_factors.to_vec(),
        ..HlsConfig::default()
    }
}

#[test]
fn jet_encoder_latency_parallel() {
    let net = jet_network("quantized-encoder.json");
    generate_and_simulate("jet_enc_lat_par", &net, config("jet_encoder", Strategy::Latency, IoType::Parallel, &[]), 1000);
}
