//! `compress` on files: the data read chunk by chunk, the choices (latent precision, error bounds, grid, predictor)
//! made once on a sample of bounded size (rows spread over a table, consecutive frames of fields), the chunks
//! compressed in parallel and written in order, as one file (data that fits one chunk) or a chunked file with an
//! index.

use crate::codec::{self, BoundedChoice, PrecisionChoice};
use crate::config::CompressionConfig;
use crate::container::{ChunkWriter, Header, LatentPrecision, Predictor, VariableBound};
use crate::data::{DataKind, Dataset, FloatType, Layout, NonFinite, RowSource};
use crate::error::{Error, Result};
use crate::evaluate;
use crate::fsutil;
use crate::interpolation::Scheme;
use crate::model::{AnyDecoder, DecoderFacts, ModelKind};
use crate::pipeline;
use crate::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use std::path::Path;
use std::sync::Mutex;

/// Values per chunk when the configuration sets no `chunk_rows`: 2^20 (8 MiB as f64), which keeps the memory
/// of the chunks in flight near 50 MiB each.
pub const CHUNK_VALUES: usize = 1 << 20;

/// What `compress` did.
#[derive(Clone, Debug)]
pub struct CompressSummary {
    /// Table or fields.
    pub kind: DataKind,
    /// Samples compressed.
    pub rows: usize,
    /// Chunks written (1: a plain file).
    pub chunks: usize,
    /// Latent values per sample.
    pub latent_size: usize,
    /// How they are stored.
    pub latent_precision: LatentPrecision,
    /// How that precision was chosen, when the configuration left it open.
    pub precision_choice: Option<PrecisionChoice>,
    /// With codes, the value of one step.
    pub latent_step: Option<f64>,
    /// Raw input bytes.
    pub input_bytes: u64,
    /// Their type: R is on these bytes.
    pub dtype: FloatType,
    /// The same data compressed losslessly by zstd -3, chunk by chunk (the ratio to beat).
    pub lossless_bytes: u64,
    /// Bytes of the decoder files a receiver needs besides the file (0 where the predictor needs none).
    pub decoder_bytes: u64,
    /// Compressed file bytes.
    pub compressed_bytes: u64,
    /// Of which the compressed latent values.
    pub latent_bytes: u64,
    /// Of which the residual section (error-bounded mode; 0 otherwise).
    pub residual_bytes: u64,
    /// Values stored exactly (error-bounded mode).
    pub exact_values: usize,
    /// The bound of each variable (error-bounded mode).
    pub error_bounds: Option<Vec<VariableBound>>,
    /// What predicted the values (error-bounded mode).
    pub predictor: Predictor,
    /// How the interpolation predictors walked.
    pub interpolation: Option<Scheme>,
    /// Model id written in the file.
    pub model_id: String,
    /// Without a model: how the data was read (a table or fields, and why).
    pub read_as: Option<String>,
}

/// How every chunk is compressed.
#[derive(Clone, Debug)]
enum Choices {
    Plain(LatentPrecision),
    Bounded(Vec<VariableBound>, BoundedChoice),
}

/// One compressed chunk, as the writer needs it.
struct Done {
    header: Header,
    image: Vec<u8>,
    latent_bytes: usize,
    residual_bytes: usize,
    exact_values: usize,
    lossless_bytes: u64,
}

/// What the chunks written so far add up to.
#[derive(Default)]
struct Totals {
    rows: usize,
    latent_bytes: u64,
    residual_bytes: u64,
    exact_values: usize,
    lossless_bytes: u64,
}

/// Compresses `input` with the `kind` of model in `model_dir` on `device` into `output`. `names` overrides the
/// file's variable names. A device that runs the other kind of model is refused by name. With error bounds in
/// `config`, the quantised model compresses in error-bounded mode (its fixed-point decoder predicts on
/// `cpu-fixed`), and NaN and infinities in the data are kept exactly. Without a model (`model_dir` `None`), error
/// bounds are needed and the predictor reads no latent (tables: none; fields: Lorenzo or interpolation); the data
/// is read as `layout` says (a 2-D array a table or one field, a 3-D one fields) and a table's integer-valued
/// variables are found in it. Data of more than one chunk (`config.chunk_rows`, else [`CHUNK_VALUES`] values) is
/// read and compressed chunk by chunk, in parallel on the CPU devices, into a chunked file; `progress` hears the
/// rows done and the total after each chunk.
#[allow(clippy::too_many_arguments)]
pub fn compress_file(
    model_dir: Option<&Path>,
    kind: ModelKind,
    device: &DeviceSpec,
    input: &Path,
    names: &[String],
    layout: Layout,
    output: &Path,
    config: &CompressionConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CompressSummary> {
    if device.model_kind() != kind {
        return Err(runtime::wrong_model(device, kind));
    }
    let bounded = !config.error_bounds.is_empty();
    let decoder = match model_dir {
        Some(dir) => Some(AnyDecoder::load(dir, kind)?),
        None if bounded => None,
        None => {
            return Err(Error::Mismatch(
                "compressing without a model needs error bounds (--error-bound rel:1e-3): without them the \
                 file stores the autoencoder's latent, which needs a trained model (-m or -p)"
                    .into(),
            ));
        }
    };
    if bounded && matches!(decoder, Some(AnyDecoder::Float(_))) {
        return Err(Error::Mismatch(
            "error-bounded mode predicts with the fixed-point decoder: compress with the quantised \
             model (--fixed, after `baler quantize`)"
                .into(),
        ));
    }
    let non_finite = if bounded {
        NonFinite::Keep
    } else {
        NonFinite::Refuse
    };
    let mut read_as = None;
    let mut source = match &decoder {
        Some(decoder) => {
            let facts = decoder.data();
            let source =
                RowSource::open_for_model(input, names, facts.kind, &facts.names, non_finite)?;
            facts.check(&source.template, input)?;
            source
        }
        None => {
            let (source, how) = RowSource::open(input, names, layout, non_finite)?;
            read_as = Some(how);
            source
        }
    };
    let rows = source.rows();
    let chunk_rows = config
        .chunk_rows
        .unwrap_or(CHUNK_VALUES / source.template.features().max(1))
        .max(1);
    let chunks = rows.div_ceil(chunk_rows);

    // the sample the choices are made on, and each variable's range, from one pass over the data; the data of a
    // file of one chunk is kept for the second
    let sampled = codec::SampleRows::of(rows, source.template.features(), source.template.kind);
    let mut sample = source.template.clone();
    sample.rows = 0;
    let mut ranges = codec::variable_ranges(&sample);
    // without a model, a table's integer variables are found in the data (a model says which they are)
    let find_integer = decoder.is_none();
    let mut integer = vec![find_integer; source.template.features()];
    let mut first = None;
    while !source.is_done() {
        let (start, data) = source.read(chunk_rows)?;
        let part = codec::sample(&data, start, sampled);
        sample.values.extend(part.values);
        sample.rows += part.rows;
        codec::merge_ranges(&mut ranges, &codec::variable_ranges(&data));
        if find_integer {
            for (all, this) in integer.iter_mut().zip(data.integer_columns()) {
                *all &= this;
            }
        }
        if chunks == 1 {
            first = Some(data);
        }
    }
    // a file of one chunk is compressed from the data kept above; a longer one is read again
    if first.is_none() {
        source.rewind();
    }

    // a predictor asked for that reads no latent needs no encoder: it is not opened
    let needs_encoder = !bounded || config.predictor.is_none_or(|p| p.uses_decoder());
    let open_encoder = || -> Result<Option<DeviceStream>> {
        let (Some(dir), Some(decoder), true) = (model_dir, &decoder, needs_encoder) else {
            return Ok(None);
        };
        let opened = runtime::open_encoder(device, dir, decoder)?;
        Ok(Some(DeviceStream::new(opened, 2, DEVICE_TIMEOUT)))
    };
    let open_predictor = || -> Result<Option<DeviceStream>> {
        let Some(decoder) = &decoder else {
            return Ok(None);
        };
        let cpu = match kind {
            ModelKind::Float => DeviceSpec::CpuF32,
            ModelKind::Quantized => DeviceSpec::CpuFixed,
        };
        let opened = runtime::open_decoder(&cpu, decoder)?;
        Ok(Some(DeviceStream::new(opened, 2, DEVICE_TIMEOUT)))
    };
    let mut encoder = open_encoder()?;
    let mut predictor = open_predictor()?;
    let mut precision_choice = None;
    let bounds = || codec::resolve_bounds_in(&config.error_bounds, &source.template, &ranges);
    let choices = match (&decoder, &mut predictor) {
        (None, _) => {
            let bounds = bounds()?;
            let choice = codec::choose_alone(&sample, &bounds, &integer, config.predictor)?;
            Choices::Bounded(bounds, choice)
        }
        (Some(AnyDecoder::Quantized(q)), Some(predictor)) if bounded => {
            let bounds = bounds()?;
            let choice = codec::choose_bounded(
                q,
                &sample,
                input,
                &bounds,
                config.predictor,
                encoder.as_mut(),
                predictor,
            )?;
            Choices::Bounded(bounds, choice)
        }
        (Some(decoder), Some(predictor)) => Choices::Plain(match config.latent_precision {
            Some(precision) => precision,
            None => {
                let Some(encoder) = encoder.as_mut() else {
                    unreachable!("plain files open the encoder")
                };
                let latent = codec::encode(decoder, &sample, input, encoder)?;
                let choice = codec::choose_precision(
                    decoder,
                    &sample,
                    &latent,
                    config.zstd_level,
                    predictor,
                )?;
                let chosen = choice.chosen;
                precision_choice = Some(choice);
                chosen
            }
        }),
        (Some(_), None) => unreachable!("a model opens its decoder"),
    };
    drop(sample);

    // the chunks: read in order, compressed in parallel on the CPU devices, written in order
    let parallel = decoder.is_none() || matches!(device, DeviceSpec::CpuF32 | DeviceSpec::CpuFixed);
    let workers = match parallel {
        true => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        false => 1,
    }
    .min(chunks);
    let spare = Mutex::new(Some((encoder, predictor)));
    type Streams = (Option<DeviceStream>, Option<DeviceStream>);
    let compress_one = |(encoder, predictor): &mut Streams, data: &Dataset| {
        let file = match (&decoder, &choices, encoder, predictor) {
            (None, Choices::Bounded(bounds, choice), ..) => {
                codec::compress_alone(data, codec::NO_MODEL, bounds, &integer, *choice)
            }
            (
                Some(AnyDecoder::Quantized(q)),
                Choices::Bounded(bounds, choice),
                encoder,
                Some(p),
            ) => {
                let encoder = encoder.as_mut();
                codec::compress_bounded_as(q, data, input, bounds, *choice, encoder, p)?
            }
            (Some(decoder), Choices::Plain(precision), Some(encoder), _) => {
                let latent = codec::encode(decoder, data, input, encoder)?;
                codec::with_latent(decoder, data, &latent, *precision)?
            }
            _ => unreachable!(
                "a model opens its streams; plain files need one, and the quantised model"
            ),
        };
        let encoded = file.encode(config.zstd_level);
        Ok(Done {
            image: encoded.bytes,
            latent_bytes: encoded.latent_bytes,
            residual_bytes: encoded.residual_bytes,
            exact_values: file.residuals.as_ref().map_or(0, |r| r.exact_at.len()),
            // measured beside it: compress_chunk
            lossless_bytes: 0,
            header: file.header,
        })
    };
    let compress_chunk = |streams: &mut Streams, data: Dataset| {
        // the lossless reference alongside the compression, on a core the chunk's own work leaves free
        std::thread::scope(|scope| {
            let lossless = scope.spawn(|| evaluate::lossless_bytes(&data, input));
            let done = compress_one(streams, &data);
            let lossless = lossless
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            done.map(|done| Done {
                lossless_bytes: lossless,
                ..done
            })
        })
    };
    let mut totals = Totals::default();
    let mut last_header = None;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dir(dir)?;
    }
    let mut compressed_bytes = 0;
    fsutil::write_atomic(output, |out| {
        let mut writer =
            (chunks > 1).then(|| ChunkWriter::new(&mut *out, output, rows, chunk_rows));
        let mut plain = None;
        pipeline::ordered(
            workers,
            || match first.take() {
                Some(data) => Ok(Some(data)),
                None if !source.is_done() => Ok(Some(source.read(chunk_rows)?.1)),
                None => Ok(None),
            },
            || match spare.lock().expect("not poisoned").take() {
                Some(streams) => Ok(streams),
                None => Ok((open_encoder()?, open_predictor()?)),
            },
            compress_chunk,
            |done: Done| {
                totals.rows += done.header.rows();
                totals.latent_bytes += done.latent_bytes as u64;
                totals.residual_bytes += done.residual_bytes as u64;
                totals.exact_values += done.exact_values;
                totals.lossless_bytes += done.lossless_bytes;
                match &mut writer {
                    Some(w) => w.push(&done.header, &done.image)?,
                    None => plain = Some(done.image),
                }
                last_header = Some(done.header);
                progress(totals.rows, rows);
                Ok(())
            },
        )?;
        compressed_bytes = match (writer, plain) {
            (Some(w), _) => w.finish()?,
            (None, Some(image)) => {
                out.write_all(&image).map_err(Error::io(output))?;
                image.len() as u64
            }
            (None, None) => unreachable!("data has at least one row"),
        };
        Ok(())
    })?;
    let header = last_header.expect("at least one chunk");
    let decoder_bytes = match (model_dir, header.predictor.uses_decoder()) {
        (Some(dir), true) => AnyDecoder::files_bytes(dir, kind)?,
        _ => 0,
    };
    Ok(CompressSummary {
        kind: source.template.kind,
        dtype: source.template.dtype,
        rows,
        chunks,
        latent_size: header.latent_size,
        latent_precision: header.latent_precision,
        precision_choice,
        latent_step: header.latent_step,
        input_bytes: (rows * source.template.features() * source.template.dtype.size()) as u64,
        lossless_bytes: totals.lossless_bytes,
        decoder_bytes,
        compressed_bytes,
        latent_bytes: totals.latent_bytes,
        residual_bytes: totals.residual_bytes,
        exact_values: totals.exact_values,
        error_bounds: header.error_bounds,
        predictor: header.predictor,
        interpolation: header.interpolation,
        model_id: header.model_id,
        read_as,
    })
}
