//! Compression and decompression with either kind of model on any device: check the layout, normalise, run the
//! encoder (or decoder) through the device's stream, store the latent (or undo the normalisation and round the
//! integer variables); in error-bounded mode, with the residuals that keep every value to its bound.

mod bounded;
mod precision;
mod scheme;

pub use crate::config::{BoundSpec, ErrorBound};
pub use crate::container::Predictor;
pub use bounded::{merge_ranges, resolve_bounds, resolve_bounds_in, variable_ranges};
pub use precision::{PrecisionChoice, choose_precision};

use crate::container::{CodeLayout, CompressedFile, Header, LatentPrecision, VariableBound};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::interpolation::Scheme;
use crate::model::{DecoderFacts, QuantizedDecoder};
use crate::runtime::DeviceStream;
use std::path::Path;

/// Frames per batch sent to a device.
pub const BATCH_FRAMES: usize = 4096;

/// Encodes `data` (whose layout must match the decoder's) with the encoder behind `encoder` (any device: the
/// float model on `cpu-f32` or `gpu`, the quantised one on `cpu-fixed`, `csim:` or `xrt:`) into a compressed file
/// whose latent is stored in `precision`.
pub fn compress(
    decoder: &dyn DecoderFacts,
    data: &Dataset,
    source: &Path,
    precision: LatentPrecision,
    encoder: &mut DeviceStream,
) -> Result<CompressedFile> {
    let latent = encode(decoder, data, source, encoder)?;
    with_latent(decoder, data, &latent, precision)
}

/// The latent of `data` (whose layout must match the decoder's) from the encoder behind `encoder`.
pub fn encode(
    decoder: &dyn DecoderFacts,
    data: &Dataset,
    source: &Path,
    encoder: &mut DeviceStream,
) -> Result<Vec<f64>> {
    decoder.data().check(data, source)?;
    let mut input = data.normalized(decoder.normalization());
    // a value that is not finite (kept exactly in error-bounded mode) reaches the encoder as 0
    input
        .iter_mut()
        .filter(|v| !v.is_finite())
        .for_each(|v| *v = 0.0);
    Ok(encoder.run_all(&input, BATCH_FRAMES)?)
}

/// The compressed file of `data` whose encoder gave `latent`, stored in `precision`.
pub fn with_latent(
    decoder: &dyn DecoderFacts,
    data: &Dataset,
    latent: &[f64],
    precision: LatentPrecision,
) -> Result<CompressedFile> {
    let (latent, latent_step) = match precision {
        LatentPrecision::Codes => {
            let format = decoder.latent_format().ok_or_else(|| {
                Error::Mismatch(
                    "latent precision 'codes' stores the quantised decoder's input codes: use the quantised \
                     model (--fixed)"
                        .into(),
                )
            })?;
            let step = format.value_of(1);
            let codes: Vec<f64> = latent.iter().map(|&v| format.from_f64(v) as f64).collect();
            (latent_on_grid(&codes, step, 0)?, Some(step))
        }
        _ => (precision.store_all(latent.iter().copied())?, None),
    };
    Ok(CompressedFile {
        header: Header {
            model_id: decoder.id().to_string(),
            kind: data.kind,
            shape: data.shape(),
            dtype: data.dtype,
            names: data.names.clone(),
            latent_size: decoder.latent(),
            latent_precision: precision,
            latent_step,
            error_bounds: None,
            predictor: Predictor::Autoencoder,
            integer: None,
            interpolation: None,
        },
        latent,
        residuals: None,
    })
}

/// Latent codes (in steps of `step`) rounded to multiples of 2^`coarsen` steps, as values; an error where a value
/// would not be exact in `f32` (more than 24 significant bits).
fn latent_on_grid(codes: &[f64], step: f64, coarsen: i32) -> Result<Vec<f32>> {
    let scale = f64::powi(2.0, coarsen);
    codes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let q = (c / scale).round();
            if q.abs() >= f64::from(1 << 24) {
                return Err(Error::Mismatch(format!(
                    "latent value {i} is code {c} of its format, beyond the 24 bits a stored code may have"
                )));
            }
            Ok((q * scale * step) as f32)
        })
        .collect()
}

/// Coarser latent grids error-bounded mode tries: up to 2^12 of the decoder's input steps.
const MAX_COARSEN: i32 = 12;

/// Error-bounded compression: the latent as the quantised decoder's input codes, then the residuals that restore
/// every value of `data` within its variable's bound (`bounds`, one per variable, from [`resolve_bounds`]) from
/// the prediction of the fixed-point decoder running behind `decoder_device` (bit-exact: `cpu-fixed` or a decoder
/// kernel). Values the quantiser cannot reach, NaN and ±Inf included, are stored exactly; the encoder sees them as
/// 0 (the normalised mean or midpoint). The latent grid and the predictor are chosen by [`choose_bounded`] on
/// [`sample`] of the data. `encoder` may be left out where the predictor asked for reads no latent.
pub fn compress_bounded(
    decoder: &QuantizedDecoder,
    data: &Dataset,
    source: &Path,
    bounds: &[VariableBound],
    predictor: Option<Predictor>,
    mut encoder: Option<&mut DeviceStream>,
    decoder_device: &mut DeviceStream,
) -> Result<CompressedFile> {
    let sample = sample(data, 0, SampleRows::of_data(data));
    let choice = choose_bounded(
        decoder,
        &sample,
        source,
        bounds,
        predictor,
        encoder.as_deref_mut(),
        decoder_device,
    )?;
    compress_bounded_as(
        decoder,
        data,
        source,
        bounds,
        choice,
        encoder,
        decoder_device,
    )
}

/// How error-bounded mode compresses every part of a file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundedChoice {
    /// The latent grid is 2^`coarsen` of the decoder's input steps.
    pub coarsen: i32,
    /// What predicts the values.
    pub predictor: Predictor,
    /// How the interpolation predictors walk (unused by the others).
    pub scheme: Scheme,
}

/// Chooses the latent grid and predictor of error-bounded mode on `sample` (a [`sample`] of the data): the grid
/// is coarsened step by step (rate against distortion: fewer latent bits, larger residuals) while the sample's
/// file shrinks. Without a `predictor`, the smallest file chooses it, among those that need no decoder too
/// (tables: none; fields: Lorenzo or interpolation alone), so the autoencoder is used only where it pays. The
/// interpolation predictors' scheme is chosen first, by [`scheme::choose`] on the sample's values.
pub fn choose_bounded(
    decoder: &QuantizedDecoder,
    sample: &Dataset,
    source: &Path,
    bounds: &[VariableBound],
    predictor: Option<Predictor>,
    encoder: Option<&mut DeviceStream>,
    decoder_device: &mut DeviceStream,
) -> Result<BoundedChoice> {
    let predictors = candidates(predictor, sample.kind, true)?;
    let (scheme, _) = interpolation_scheme(&predictors, sample, bounds);
    let (reading, not_reading): (Vec<Predictor>, Vec<Predictor>) =
        predictors.iter().partition(|p| p.uses_decoder());
    let choice = |coarsen, predictor| BoundedChoice {
        coarsen,
        predictor,
        scheme,
    };
    // one predictor that reads no latent leaves nothing else to choose: no trial compression of the sample
    if let ([], [predictor]) = (&reading[..], &not_reading[..]) {
        return Ok(choice(0, *predictor));
    }
    let mut best: Option<(usize, BoundedChoice)> = None;
    // predictors that read the latent: the grid coarsens while the sample's file shrinks (the decoder runs once
    // per grid, for all of them)
    if let Some(&first) = reading.first() {
        let file = latent_codes(decoder, sample, source, bounds, encoder)?;
        let integer = &decoder.data.integer;
        let mut previous = usize::MAX;
        for coarsen in 0..=MAX_COARSEN {
            let (candidate, predictions) =
                on_grid(&file, choice(coarsen, first), decoder, decoder_device)?;
            let mut at_this_grid: Option<(usize, Predictor)> = None;
            for &predictor in &reading {
                let candidate = candidate.clone();
                let candidate = residuals_from(
                    candidate,
                    bounded::Predictions::Model(&predictions),
                    sample,
                    choice(coarsen, predictor),
                    integer,
                );
                let bytes = candidate.encode(0).bytes.len();
                if at_this_grid.is_none_or(|(smallest, _)| bytes < smallest) {
                    at_this_grid = Some((bytes, predictor));
                }
            }
            let (bytes, predictor) = at_this_grid.expect("at least one predictor");
            if bytes >= previous {
                break;
            }
            previous = bytes;
            best = Some((bytes, choice(coarsen, predictor)));
        }
    }
    // the others store no latent: one trial each
    let id = decoder.id().to_string();
    for predictor in not_reading {
        let candidate = compress_alone(
            sample,
            &id,
            bounds,
            &decoder.data.integer,
            choice(0, predictor),
        );
        let bytes = candidate.encode(0).bytes.len();
        if best.is_none_or(|(smallest, _)| bytes < smallest) {
            best = Some((bytes, choice(0, predictor)));
        }
    }
    Ok(best.expect("at least one candidate").1)
}

/// The predictors error-bounded mode chooses among for data of `kind`: the one asked for, else every one that
/// fits (those that read the latent only `with_model`).
fn candidates(
    predictor: Option<Predictor>,
    kind: DataKind,
    with_model: bool,
) -> Result<Vec<Predictor>> {
    let fits = |p: &Predictor| with_model || !p.uses_decoder();
    match predictor {
        Some(p) if p.is_local() && kind == DataKind::Table => Err(Error::Mismatch(format!(
            "predictor {p} is for fields; a table's rows are independent (use autoencoder or none)"
        ))),
        Some(p) if !fits(&p) => Err(Error::Mismatch(format!(
            "predictor {p} reads the latent: it needs a model (-m or -p); without one, use none, lorenzo or \
             interpolation"
        ))),
        Some(p) => Ok(vec![p]),
        // fields: the quantiser alone is not tried, a local predictor is
        None => Ok(Predictor::fitting(kind)
            .into_iter()
            .filter(|p| fits(p) && (kind == DataKind::Table || *p != Predictor::None))
            .collect()),
    }
}

/// The interpolation scheme for `predictors`, chosen on `sample` where one of them interpolates, and the bytes of
/// the residuals it makes of the box it was chosen on ([`scheme::choose`]).
fn interpolation_scheme(
    predictors: &[Predictor],
    sample: &Dataset,
    bounds: &[VariableBound],
) -> (Scheme, Option<usize>) {
    match (predictors.iter().any(|p| p.interpolates()), bounds) {
        (true, &[bound]) => scheme::choose(sample, bound),
        _ => (Scheme::default(), None),
    }
}

/// Chooses the predictor (and interpolation scheme) of error-bounded compression without a model on `sample`:
/// the one asked for, else the one that makes the smallest file among those that read no latent (tables: none;
/// fields: Lorenzo and interpolation, on the sample's central box).
pub fn choose_alone(
    sample: &Dataset,
    bounds: &[VariableBound],
    integer: &[bool],
    predictor: Option<Predictor>,
) -> Result<BoundedChoice> {
    let predictors = candidates(predictor, sample.kind, false)?;
    let (scheme, interpolated_box) = interpolation_scheme(&predictors, sample, bounds);
    let choice = |predictor| BoundedChoice {
        coarsen: 0,
        predictor,
        scheme,
    };
    if let [predictor] = predictors[..] {
        return Ok(choice(predictor));
    }
    // fields' local predictors are compared by their residual bytes on the box the scheme was chosen on (known
    // for interpolation), not the whole sample: as good a judge, in a fraction of the time (the sample holds up
    // to 2^22 values, the box 2^16)
    let trial = scheme::central_box(sample);
    let size = |&p: &Predictor| match (p.interpolates(), interpolated_box) {
        (true, Some(bytes)) => bytes,
        _ => {
            let file = compress_alone(
                trial.as_ref().unwrap_or(sample),
                NO_MODEL,
                bounds,
                integer,
                choice(p),
            );
            file.residuals.as_ref().map_or(0, |r| r.to_bytes().len())
        }
    };
    let smallest = predictors.iter().min_by_key(|p| size(p));
    Ok(choice(*smallest.expect("at least one candidate")))
}

/// The model id of files compressed without a model.
pub const NO_MODEL: &str = "none";

/// Error-bounded compression of `data` with a predictor that reads no latent (`choice`'s): no latent, no
/// decoder; the header names `model_id` ([`NO_MODEL`] without a model) and, for a table, the `integer` flags of
/// its variables (restored by rounding where their bound is below ½).
pub fn compress_alone(
    data: &Dataset,
    model_id: &str,
    bounds: &[VariableBound],
    integer: &[bool],
    choice: BoundedChoice,
) -> CompressedFile {
    let header = Header {
        model_id: model_id.to_string(),
        kind: data.kind,
        shape: data.shape(),
        dtype: data.dtype,
        names: data.names.clone(),
        latent_size: 0,
        latent_precision: LatentPrecision::Codes,
        latent_step: None,
        error_bounds: Some(bounds.to_vec()),
        predictor: choice.predictor,
        integer: integer_flags(data, integer),
        interpolation: None,
    };
    let file = CompressedFile {
        header,
        latent: Vec::new(),
        residuals: None,
    };
    let zeros = bounded::Predictions::Zeros(data.values.len());
    residuals_from(file, zeros, data, choice, integer)
}

/// [`compress_bounded`] with the grid and predictor already chosen: how each chunk of a large file is compressed.
pub fn compress_bounded_as(
    decoder: &QuantizedDecoder,
    data: &Dataset,
    source: &Path,
    bounds: &[VariableBound],
    choice: BoundedChoice,
    encoder: Option<&mut DeviceStream>,
    decoder_device: &mut DeviceStream,
) -> Result<CompressedFile> {
    let integer = &decoder.data.integer;
    if !choice.predictor.uses_decoder() {
        decoder.data.check(data, source)?;
        let id = decoder.id().to_string();
        return Ok(compress_alone(data, &id, bounds, integer, choice));
    }
    let file = latent_codes(decoder, data, source, bounds, encoder)?;
    let (candidate, predictions) = on_grid(&file, choice, decoder, decoder_device)?;
    Ok(residuals_from(
        candidate,
        bounded::Predictions::Model(&predictions),
        data,
        choice,
        integer,
    ))
}

/// An error-bounded file of `data` without residuals yet, its latent the decoder's input codes from the encoder
/// (which a predictor that reads no latent does not need: [`compress_alone`]).
fn latent_codes(
    decoder: &QuantizedDecoder,
    data: &Dataset,
    source: &Path,
    bounds: &[VariableBound],
    encoder: Option<&mut DeviceStream>,
) -> Result<CompressedFile> {
    let encoder = encoder.ok_or_else(|| {
        Error::Mismatch(
            "a predictor that reads the latent needs the encoder, which was not opened".into(),
        )
    })?;
    let mut file = compress(decoder, data, source, LatentPrecision::Codes, encoder)?;
    file.header.error_bounds = Some(bounds.to_vec());
    file.header.integer = integer_flags(data, &decoder.data.integer);
    Ok(file)
}

/// A table's integer flags for its header, one per variable of `data` (`integer` may be shorter); none for fields.
fn integer_flags(data: &Dataset, integer: &[bool]) -> Option<Vec<bool>> {
    let flags = (0..data.features()).map(|j| integer.get(j).copied().unwrap_or(false));
    (data.kind == DataKind::Table).then(|| flags.collect())
}

/// The most samples the choices of a file (latent precision, grid, predictor) are made on.
pub const SEARCH_SAMPLES: usize = 8192;

/// The most values the sample holds (2^22: 32 MiB as `f64`), so that its memory does not grow with the file: fields
/// of large frames are sampled by fewer frames, tables of many variables by fewer rows.
pub const SEARCH_VALUES: usize = 1 << 22;

/// The rows of the whole data the choices of a file are made on: from `start` to `end`, every `stride`-th.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleRows {
    /// The first row.
    pub start: usize,
    /// The row after the last.
    pub end: usize,
    /// Every how many rows one is taken.
    pub stride: usize,
}

impl SampleRows {
    /// The sample of `rows` rows of `kind` with `row_values` values each: at most [`SEARCH_SAMPLES`] rows and
    /// [`SEARCH_VALUES`] values (one row at least). A table's rows are independent: they are taken spread over the
    /// whole table. Fields' are consecutive frames in the middle of the data, so that the frames axis is as smooth
    /// in the sample as in the data (the interpolation scheme is chosen on it); small data is its own sample.
    pub fn of(rows: usize, row_values: usize, kind: DataKind) -> Self {
        let most = SEARCH_SAMPLES.min(SEARCH_VALUES / row_values.max(1)).max(1);
        match kind {
            DataKind::Table => SampleRows {
                start: 0,
                end: rows,
                stride: rows.div_ceil(most).max(1),
            },
            DataKind::Fields { .. } => {
                let taken = most.min(rows);
                let start = (rows - taken) / 2;
                SampleRows {
                    start,
                    end: start + taken,
                    stride: 1,
                }
            }
        }
    }

    /// The sample of `data` held whole.
    pub fn of_data(data: &Dataset) -> Self {
        Self::of(data.rows, data.features(), data.kind)
    }
}

/// The sample's rows found in `part`, whose first sample is sample `first` of the whole data: the same sample
/// whether the data is held whole or read in parts.
pub fn sample(part: &Dataset, first: usize, rows: SampleRows) -> Dataset {
    let features = part.features();
    let stride = rows.stride.max(1);
    let from = rows.start.max(first);
    let skip = (stride - (from - rows.start) % stride) % stride;
    let end = rows.end.clamp(first, first + part.rows);
    let taken: Vec<usize> = (from + skip..end)
        .step_by(stride)
        .map(|r| r - first)
        .collect();
    Dataset {
        rows: taken.len(),
        values: taken
            .iter()
            .flat_map(|&r| &part.values[r * features..(r + 1) * features])
            .copied()
            .collect(),
        ..part.clone()
    }
}

/// `file` (its latent as the decoder's input codes) with the latent on the grid 2^`coarsen` times coarser, and
/// the decoder's prediction from that latent.
fn on_grid(
    file: &CompressedFile,
    choice: BoundedChoice,
    decoder: &QuantizedDecoder,
    decoder_device: &mut DeviceStream,
) -> Result<(CompressedFile, Vec<f64>)> {
    let step = file.header.latent_step.expect("codes have a step");
    let codes: Vec<f64> = file.latent.iter().map(|&v| f64::from(v) / step).collect();
    let mut header = file.header.clone();
    header.latent_step = Some(step * f64::powi(2.0, choice.coarsen));
    header.predictor = choice.predictor;
    let candidate = CompressedFile {
        header,
        latent: latent_on_grid(&codes, step, choice.coarsen)?,
        residuals: None,
    };
    let predictions = predict(decoder, &candidate, decoder_device)?;
    Ok((candidate, predictions))
}

/// `file` with `choice`'s predictor (one that reads the latent as the file's does, or none; an interpolation
/// predictor walks with its scheme) and the residuals that restore `data` from `predictions` within the header's
/// bounds, `integer` flagging the variables restored by rounding.
fn residuals_from(
    mut file: CompressedFile,
    predictions: bounded::Predictions,
    data: &Dataset,
    choice: BoundedChoice,
    integer: &[bool],
) -> CompressedFile {
    let predictor = choice.predictor;
    file.header.predictor = predictor;
    file.header.interpolation = predictor.interpolates().then_some(choice.scheme);
    let bounds = file.header.error_bounds.as_deref().expect("bounded");
    file.residuals = Some(bounded::residuals(
        &data.values,
        predictions,
        bounds,
        integer,
        data.dtype,
        local_predictor(&file.header),
    ));
    file
}

/// The local predictor a file's header asks for.
fn local_predictor(header: &Header) -> Option<bounded::Local> {
    match (header.predictor, header.code_layout(), header.kind) {
        (Predictor::Autoencoder | Predictor::None, ..) | (_, _, DataKind::Table) => None,
        (_, CodeLayout::Grid(grid, ..), _) => {
            Some(bounded::Local::Interpolation(grid, header.scheme()))
        }
        (_, CodeLayout::Streams, DataKind::Fields { height, width }) => {
            Some(bounded::Local::Lorenzo { height, width })
        }
    }
}

/// Restores the data of a compressed file with its model's decoder running behind `decoder_device` (the float
/// decoder on `cpu-f32` or `gpu`, the quantised one on `cpu-fixed` or a decoder kernel); a file made by another
/// model is refused.
pub fn decompress(
    decoder: &dyn DecoderFacts,
    file: &CompressedFile,
    source: &Path,
    decoder_device: &mut DeviceStream,
) -> Result<Dataset> {
    check_header(&file.header, decoder, source)?;
    let values = predict(decoder, file, decoder_device)?;
    let integer = file
        .header
        .integer
        .as_ref()
        .unwrap_or(&decoder.data().integer);
    corrected(file, Some(values), integer, source)
}

/// Whether restoring the data of a file with `header` needs its model: not for an error-bounded file whose
/// predictor reads no latent and which says which variables are integers (fields have none).
pub fn needs_model(header: &Header) -> bool {
    let facts_in_file = matches!(header.kind, DataKind::Fields { .. }) || header.integer.is_some();
    header.error_bounds.is_none() || header.predictor.uses_decoder() || !facts_in_file
}

/// Restores the data of a file that needs no model ([`needs_model`] is false): its residuals on a prediction of
/// zeros. Damage found as the residual codes are decoded is an error naming `source`.
pub fn restore_without_model(file: &CompressedFile, source: &Path) -> Result<Dataset> {
    let integer = file.header.integer.as_deref().unwrap_or(&[]);
    corrected(file, None, integer, source)
}

/// The data of `file` (read from `source`) from the decoder's `values` (`None`: without a model, zeros):
/// corrected by the residuals of an error-bounded file, else with the `integer` variables rounded.
fn corrected(
    file: &CompressedFile,
    values: Option<Vec<f64>>,
    integer: &[bool],
    source: &Path,
) -> Result<Dataset> {
    let h = &file.header;
    let count = h.data_values().and_then(|n| usize::try_from(n).ok());
    let values = match (&h.error_bounds, &file.residuals) {
        (Some(bounds), Some(residuals)) => {
            let predictions = match &values {
                Some(values) => bounded::Predictions::Model(values),
                None => bounded::Predictions::Zeros(count.unwrap_or(0)),
            };
            bounded::restore(
                predictions,
                residuals,
                bounds,
                integer,
                h.dtype,
                local_predictor(h),
            )
            .map_err(|m| {
                Error::malformed(
                    source,
                    format!("not a valid compressed file: residuals: {m}"),
                )
            })?
        }
        _ => {
            let mut values = values.unwrap_or_else(|| vec![0.0; count.unwrap_or(0)]);
            for (v, &round) in values.iter_mut().zip(integer.iter().cycle()) {
                if round {
                    *v = v.round() + 0.0; // + 0.0 turns -0.0 into 0.0
                }
            }
            values
        }
    };
    Ok(Dataset {
        kind: h.kind,
        names: h.names.clone(),
        dtype: h.dtype,
        rows: h.rows(),
        values,
    })
}

/// The decoder's reconstruction of a file's data, in the data's units (decoded, normalisation undone).
fn predict(
    decoder: &dyn DecoderFacts,
    file: &CompressedFile,
    decoder_device: &mut DeviceStream,
) -> Result<Vec<f64>> {
    if !file.header.predictor.uses_decoder() {
        let values = file
            .header
            .data_values()
            .and_then(|n| usize::try_from(n).ok());
        return Ok(vec![0.0; values.unwrap_or(0)]);
    }
    let latent: Vec<f64> = file.latent.iter().map(|&v| f64::from(v)).collect();
    let mut values = decoder_device.run_all(&latent, BATCH_FRAMES)?;
    let expected = file.header.data_values();
    if expected != Some(values.len() as u64) {
        return Err(Error::Mismatch(format!(
            "device {} gave {} values for data of shape {:?}: it does not run this model's decoder",
            decoder_device.info().name,
            values.len(),
            file.header.shape
        )));
    }
    decoder.normalization().invert(&mut values);
    Ok(values)
}

/// Refuses a compressed file that another model wrote or whose layout the decoder cannot restore.
fn check_header(header: &Header, decoder: &dyn DecoderFacts, source: &Path) -> Result<()> {
    let id = decoder.id();
    if header.model_id != id.to_string() {
        return Err(Error::Mismatch(format!(
            "{}: compressed with model {} but the decoder given is model {id}; use the model that compressed it",
            source.display(),
            header.model_id,
        )));
    }
    let data = decoder.data();
    let latent_fits = header.latent_size == decoder.latent() || !header.predictor.uses_decoder();
    if !latent_fits || header.kind != data.kind || header.names != data.names {
        return Err(Error::Mismatch(format!(
            "{}: the header's layout does not match model {id}",
            source.display(),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::FloatType;

    #[test]
    fn a_sample_is_the_same_whether_the_data_is_whole_or_in_parts() {
        let rows = 10;
        let data = Dataset {
            kind: DataKind::Table,
            names: vec!["a".into(), "b".into()],
            dtype: FloatType::F32,
            rows,
            values: (0..rows * 2).map(|v| v as f64).collect(),
        };
        let part = |first: usize, n: usize| Dataset {
            rows: n,
            values: data.values[first * 2..(first + n) * 2].to_vec(),
            ..data.clone()
        };
        // every third row: 0, 3, 6, 9; and every second of rows 3 to 8: 3, 5, 7
        let every_third = SampleRows {
            start: 0,
            end: rows,
            stride: 3,
        };
        let from_3_to_8 = SampleRows {
            start: 3,
            end: 8,
            stride: 2,
        };
        let whole = sample(&data, 0, every_third);
        assert_eq!(whole.rows, 4);
        assert_eq!(whole.values, [0.0, 1.0, 6.0, 7.0, 12.0, 13.0, 18.0, 19.0]);
        assert_eq!(
            sample(&data, 0, from_3_to_8).values,
            [6.0, 7.0, 10.0, 11.0, 14.0, 15.0]
        );
        // the same rows from parts of 4, 4 and 2 rows, and of 1 row each
        for rows_taken in [every_third, from_3_to_8] {
            let whole = sample(&data, 0, rows_taken);
            for parts in [
                vec![(0, 4), (4, 4), (8, 2)],
                (0..10).map(|r| (r, 1)).collect(),
            ] {
                let mut joined = Vec::new();
                for (first, n) in parts {
                    joined.extend(sample(&part(first, n), first, rows_taken).values);
                }
                assert_eq!(joined, whole.values, "{rows_taken:?}");
            }
        }
        // small data is its own sample
        assert_eq!(sample(&data, 0, SampleRows::of_data(&data)), data);
    }

    #[test]
    fn a_sample_holds_at_most_its_rows_and_values() {
        let table = DataKind::Table;
        let fields = DataKind::Fields {
            height: 1000,
            width: 1000,
        };
        let of = SampleRows::of;
        // a long table: rows spread over it; a wide one: fewer rows
        assert_eq!(of(3 * SEARCH_SAMPLES + 1, 9, table).stride, 4);
        assert_eq!(of(100_000, 9, table).end, 100_000);
        assert_eq!(of(8192, 4096, table).stride, 8);
        // fields of 10^6 values a frame: the 4 frames in the middle; frames larger than the budget: one
        let middle = of(100, 1_000_000, fields);
        assert_eq!((middle.start, middle.end, middle.stride), (48, 52, 1));
        assert_eq!(
            of(100, 5_000_000, fields).end - of(100, 5_000_000, fields).start,
            1
        );
        // many small frames: SEARCH_SAMPLES consecutive ones
        let long = of(20_000, 64, fields);
        assert_eq!((long.end - long.start, long.stride), (SEARCH_SAMPLES, 1));
        // every sample holds at most its values (or one row)
        for (rows, row_values) in [(1, 1), (10, 3), (50_000, 700), (7, 10_000_000)] {
            for kind in [table, fields] {
                let s = of(rows, row_values, kind);
                let taken = (s.start..s.end).step_by(s.stride).count();
                assert!((1..=SEARCH_SAMPLES).contains(&taken), "{s:?}");
                assert!(taken == 1 || taken * row_values <= SEARCH_VALUES, "{s:?}");
            }
        }
    }
}
