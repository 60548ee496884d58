//! `baler hls`: the quantised encoder and decoder of a model folder as HLS projects, with test frames taken
//! from the data and run through the bit-exact reference, each project estimated and optionally C-simulated.

use crate::data::{NonFinite, load_for_model};
use crate::error::{Error, Result};
use crate::model::QuantizedModel;
use baler_core::quantized::QuantizedNetwork;
use baler_hls::rtl::{self, RtlChecks, RtlConfig, RtlReport};
use baler_hls::{CsimOptions, CsimReport, HlsConfig, HlsDesign, HlsProject, TestFrames};
use std::path::Path;
use std::time::Instant;

/// Which half of the model to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Data → latent: what runs where the data is born.
    Encoder,
    /// Latent → data.
    Decoder,
}

impl Network {
    /// "encoder" or "decoder".
    pub fn name(self) -> &'static str {
        match self {
            Network::Encoder => "encoder",
            Network::Decoder => "decoder",
        }
    }
}

/// What `baler hls` builds.
#[derive(Clone, Debug)]
pub struct HlsOptions {
    /// The halves to build, each into `<out>/<encoder|decoder>`.
    pub networks: Vec<Network>,
    /// Design options; the name is a prefix (`<prefix>_encoder`).
    pub config: HlsConfig,
    /// Test frames: the first rows of the data [default: 1000, fewer for large frames, see
    /// [`default_frames`]].
    pub frames: Option<usize>,
    /// C-simulate each project (and build the kernel library) with these headers.
    pub csim: Option<CsimOptions>,
    /// Also write the Verilog (and check and synthesise it as asked).
    pub rtl: Option<RtlOptions>,
}

/// What `baler hls --rtl` does beside the HLS project.
#[derive(Clone, Debug)]
pub struct RtlOptions {
    /// How the Verilog is written.
    pub config: RtlConfig,
    /// What runs on it.
    pub checks: RtlChecks,
}

/// One project written.
#[derive(Debug)]
pub struct HlsOutcome {
    /// Encoder or decoder.
    pub network: Network,
    /// The project.
    pub project: HlsProject,
    /// Seconds to design and write it.
    pub generate_seconds: f64,
    /// C simulation, when asked for.
    pub csim: Option<CsimReport>,
    /// The Verilog and what the RTL tools found, when asked for.
    pub rtl: Option<RtlReport>,
}

/// Test frames when none are asked for: 1000, or as many as hold 200,000 input values for large frames (at
/// least 10), so that C simulation of a field model stays within seconds.
pub fn default_frames(inputs: usize) -> usize {
    (200_000 / inputs.max(1)).clamp(10, 1000)
}

/// Builds the requested HLS projects of the quantised model in `model_dir` under `out`, with test frames from
/// the first rows of `input`. `progress` receives a line per step.
pub fn hls_projects(
    model_dir: &Path,
    input: &Path,
    names: &[String],
    out: &Path,
    options: &HlsOptions,
    mut progress: impl FnMut(&str),
) -> Result<Vec<HlsOutcome>> {
    if !model_dir.join(crate::model::QUANTIZED_DECODER).is_file() {
        return Err(Error::Mismatch(format!(
            "{}: no quantised model here; run `baler quantize` first",
            model_dir.display()
        )));
    }
    let model = QuantizedModel::load(model_dir)?;
    let decoder = &model.decoder;
    let data = load_for_model(
        input,
        names,
        decoder.data.kind,
        &decoder.data.names,
        NonFinite::Refuse,
    )?;
    decoder.data.check(&data, input)?;
    let rows = options
        .frames
        .unwrap_or_else(|| default_frames(data.features()))
        .min(data.rows);
    if rows == 0 {
        return Err(Error::Mismatch(format!(
            "{}: no {} for test frames",
            input.display(),
            data.kind.samples()
        )));
    }
    let normalized = data.normalized_rows(&decoder.normalization, 0..rows);
    // the encoder's reference run gives its expected codes and, as values, the decoder's test frames
    let encoder_frames =
        TestFrames::from_reference(&model.encoder, &normalized).map_err(|error| Error::Hls {
            network: Network::Encoder.name(),
            error,
        })?;
    let latent_format = model.encoder.output();
    let latent: Vec<f64> = encoder_frames
        .expected
        .iter()
        .map(|&c| latent_format.value_of(c as i128))
        .collect();

    // every network is designed and checked before any project is written: a decoder the options do not
    // fit must not cost the user the encoder project already on disk
    let mut designs = Vec::new();
    for &network in &options.networks {
        let fail = |error| Error::Hls {
            network: network.name(),
            error,
        };
        let (net, frames): (&QuantizedNetwork, TestFrames) = match network {
            Network::Encoder => (&model.encoder, encoder_frames.clone()),
            Network::Decoder => (
                &decoder.network,
                TestFrames::from_reference(&decoder.network, &latent).map_err(fail)?,
            ),
        };
        let config = HlsConfig {
            name: format!("{}_{}", options.config.name, network.name()),
            model_id: Some(decoder.id.to_string()),
            ..options.config.clone()
        };
        let start = Instant::now();
        let design = HlsDesign::new(net, config).map_err(fail)?;
        let rtl = match &options.rtl {
            Some(o) => Some(baler_hls::rtl::generate(&design, &o.config).map_err(fail)?),
            None => None,
        };
        designs.push((network, design, rtl, frames, start.elapsed().as_secs_f64()));
    }

    let mut outcomes = Vec::new();
    for (network, design, rtl, frames, design_seconds) in designs {
        let fail = |error| Error::Hls {
            network: network.name(),
            error,
        };
        let start = Instant::now();
        let project =
            baler_hls::write_project(&out.join(network.name()), &design, &frames).map_err(fail)?;
        let generate_seconds = design_seconds + start.elapsed().as_secs_f64();
        progress(&format!(
            "{}: project written to {} ({} files, {rows} test frames, {generate_seconds:.2} s)",
            network.name(),
            project.dir.display(),
            project.files.len()
        ));
        let csim = match &options.csim {
            Some(csim) => {
                progress(&format!("{}: C simulation with g++ …", network.name()));
                Some(baler_hls::run_csim(&project, csim).map_err(fail)?)
            }
            None => None,
        };
        let rtl = match (rtl, &options.rtl) {
            (Some(design), Some(o)) => Some(
                rtl::build(&project, design, &o.checks, |line| {
                    progress(&format!("{}: {line}", network.name()))
                })
                .map_err(fail)?,
            ),
            _ => None,
        };
        outcomes.push(HlsOutcome {
            network,
            project,
            generate_seconds,
            csim,
            rtl,
        });
    }
    Ok(outcomes)
}
