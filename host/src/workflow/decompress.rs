//! `decompress` on files: the chunks that hold the rows asked for read from the index, restored in parallel on the
//! CPU devices and written in order, a `.npy` output as they come (memory bounded by the chunks in flight).

use crate::codec;
use crate::container::{CompressedSource, Header};
use crate::data::{Dataset, NpyWriter};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::model::{AnyDecoder, ModelKind};
use crate::pipeline;
use crate::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use std::path::Path;
use std::sync::Mutex;

/// Samples to restore: `first..end`, an end left out meaning the file's first or last sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowRange {
    /// First sample [default: 0].
    pub first: Option<usize>,
    /// One past the last [default: all].
    pub end: Option<usize>,
}

/// Restores `input` (a compressed file, plain or chunked) with the `kind` of decoder in `model_dir` on `device`
/// (by default the kind's default device) and writes `output`: every row, or the samples in `rows`. An
/// error-bounded file is always restored by the fixed-point decoder, whose predictions its residuals correct; a
/// device that runs the other kind of model is refused by name. A file whose predictor reads no latent needs no
/// model (`model_dir` is not read). Returns the header of what was written (its shape counts the rows restored);
/// `progress` hears the rows done and the total after each chunk.
pub fn decompress_file(
    model_dir: Option<&Path>,
    kind: ModelKind,
    device: Option<&DeviceSpec>,
    input: &Path,
    output: &Path,
    rows: RowRange,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Header> {
    let mut source = CompressedSource::open(input)?;
    let total = source.header.rows();
    let rows = rows.first.unwrap_or(0)..rows.end.unwrap_or(total);
    if rows.start >= rows.end || rows.end > total {
        return Err(Error::Mismatch(format!(
            "{}: rows {}..{} are not a range of its {total} {} (give --rows first..end with first < end ≤ {total})",
            input.display(),
            rows.start,
            rows.end,
            source.header.kind.samples()
        )));
    }
    let bounded = source.header.error_bounds.is_some();
    let kind = if bounded { ModelKind::Quantized } else { kind };
    let device = device.cloned().unwrap_or(DeviceSpec::default_for(kind));
    if bounded && device.model_kind() != kind {
        return Err(Error::Mismatch(format!(
            "{}: an error-bounded file is restored by the fixed-point decoder, which device {device} does not run; \
             use cpu-fixed (the default), or csim:/xrt: with a decoder kernel",
            input.display()
        )));
    }
    let decoder = match (codec::needs_model(&source.header), model_dir) {
        (false, _) => None,
        (true, Some(dir)) => Some(AnyDecoder::load(dir, kind)?),
        (true, None) => {
            return Err(Error::Mismatch(format!(
                "{}: restoring it needs the model that compressed it (model {}): give its folder with -m",
                input.display(),
                source.header.model_id
            )));
        }
    };
    let open = || -> Result<Option<DeviceStream>> {
        let Some(decoder) = &decoder else {
            return Ok(None);
        };
        let opened = runtime::open_decoder(&device, decoder)?;
        Ok(Some(DeviceStream::new(opened, 2, DEVICE_TIMEOUT)))
    };
    // the first device is opened here, so that a device that cannot run this decoder fails before any output
    let spare = Mutex::new(Some(open()?));
    let mut restored = source.header.clone();
    restored.shape[0] = rows.len();
    let chunks: Vec<_> = source.chunks_of(rows.clone()).collect();
    let parallel = matches!(device, DeviceSpec::CpuF32 | DeviceSpec::CpuFixed);
    let workers = match parallel {
        true => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        false => 1,
    }
    .min(chunks.len());
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dir(dir)?;
    }
    let streamed = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    // other formats are written whole, from the rows gathered in memory
    let mut gathered = Vec::new();
    let mut run = |sink: &mut dyn FnMut(&[f64]) -> Result<()>| {
        let mut pending = chunks.iter().copied();
        let mut done = 0;
        pipeline::ordered(
            workers,
            || {
                pending
                    .next()
                    .map(|chunk| Ok((chunk, source.name_of(chunk), source.read(chunk)?)))
                    .transpose()
            },
            || match spare.lock().expect("not poisoned").take() {
                Some(stream) => Ok(stream),
                None => open(),
            },
            |stream, (chunk, name, file)| {
                let data = match (&decoder, stream) {
                    (Some(decoder), Some(stream)) => {
                        codec::decompress(decoder, &file, &name, stream)?
                    }
                    _ => codec::restore_without_model(&file, &name)?,
                };
                Ok((chunk, data))
            },
            |(chunk, data): (crate::container::Chunk, Dataset)| {
                // the part of this chunk inside the range
                let features = data.features();
                let from = rows.start.max(chunk.first_row) - chunk.first_row;
                let to = rows.end.min(chunk.first_row + chunk.rows) - chunk.first_row;
                sink(&data.values[from * features..to * features])?;
                done += to - from;
                progress(done, rows.len());
                Ok(())
            },
        )
    };
    if streamed {
        fsutil::write_atomic(output, |out| {
            let mut writer = NpyWriter::new(out, output, &restored.shape, restored.dtype)?;
            run(&mut |values| writer.write(values))?;
            writer.finish()
        })?;
    } else {
        run(&mut |values| {
            gathered.extend_from_slice(values);
            Ok(())
        })?;
        let data = Dataset {
            kind: restored.kind,
            names: restored.names.clone(),
            dtype: restored.dtype,
            rows: rows.len(),
            values: gathered,
        };
        data.save(output)?;
    }
    Ok(restored)
}
