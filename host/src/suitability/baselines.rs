//! The compressors baler is compared with, each run on the user's data and timed: zstd (lossless) and, when
//! built with the features `sz3` and `zfp`, SZ3 and ZFP.

use crate::container::VariableBound;
use crate::data::{DataKind, Dataset, FloatType};
use std::time::Instant;

/// What one method made of the data: its bytes, the values it restored, and the wall time of each way.
pub struct Trial {
    /// Compressed bytes.
    pub bytes: u64,
    /// The restored values, row-major as the data's.
    pub restored: Vec<f64>,
    /// Seconds to compress.
    pub compress_s: f64,
    /// Seconds to decompress.
    pub decompress_s: f64,
}

/// Why a method did not run on this data (a message for the report).
pub type Unavailable = String;

/// Times `compress`, then `decompress` on its output.
fn timed<C>(
    compress: impl FnOnce() -> Result<C, Unavailable>,
    size: impl Fn(&C) -> u64,
    decompress: impl FnOnce(&C) -> Result<Vec<f64>, Unavailable>,
) -> Result<Trial, Unavailable> {
    let start = Instant::now();
    let compressed = compress()?;
    let compress_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let restored = decompress(&compressed)?;
    Ok(Trial {
        bytes: size(&compressed),
        restored,
        compress_s,
        decompress_s: start.elapsed().as_secs_f64(),
    })
}

/// Values as a file of `dtype` holds them (little-endian `f32` or `f64`).
fn raw_bytes(values: &[f64], dtype: FloatType) -> Vec<u8> {
    let mut out = Vec::new();
    dtype.extend_le_bytes(&mut out, values);
    out
}

/// zstd at `level` on the raw values: lossless.
pub fn zstd_lossless(data: &Dataset, level: i32) -> Result<Trial, Unavailable> {
    let raw = raw_bytes(&data.values, data.dtype);
    timed(
        || zstd::bulk::compress(&raw, level).map_err(|e| format!("zstd: {e}")),
        |c| c.len() as u64,
        |c| {
            let bytes = zstd::bulk::decompress(c, raw.len()).map_err(|e| format!("zstd: {e}"))?;
            Ok(data.dtype.from_le_bytes(&bytes))
        },
    )
}

/// One array for SZ3 or ZFP: its dimensions (slowest first), values and absolute bound.
#[cfg_attr(not(any(feature = "sz3", feature = "zfp")), allow(dead_code))]
struct Array {
    dims: Vec<usize>,
    values: Vec<f64>,
    bound: f64,
}

/// The arrays SZ3 and ZFP compress: each table column alone (as SZ3's figures in the issue were made), or the
/// field stack as one array of (frames, height, width), with the absolute bound of each.
fn arrays(data: &Dataset, bounds: &[VariableBound]) -> Result<Vec<Array>, Unavailable> {
    let non_finite = data.values.iter().filter(|v| !v.is_finite()).count();
    if non_finite > 0 {
        return Err(format!(
            "the data holds {non_finite} NaN or infinite values, which it does not keep"
        ));
    }
    let absolute = |b: &VariableBound| match *b {
        VariableBound::Abs(e) => Ok(e),
        VariableBound::Pw(_) => Err("it has no point-wise relative bound".to_string()),
    };
    match data.kind {
        DataKind::Table => {
            let n = data.features();
            bounds
                .iter()
                .enumerate()
                .map(|(j, b)| {
                    let column = data.values.iter().skip(j).step_by(n).copied().collect();
                    Ok(Array {
                        dims: vec![data.rows],
                        values: column,
                        bound: absolute(b)?,
                    })
                })
                .collect()
        }
        DataKind::Fields { height, width } => Ok(vec![Array {
            dims: vec![data.rows, height, width],
            values: data.values.clone(),
            bound: absolute(&bounds[0])?,
        }]),
    }
}

/// The values of `arrays` back in the data's row-major order.
fn interleave(data: &Dataset, arrays: Vec<Vec<f64>>) -> Vec<f64> {
    match data.kind {
        DataKind::Fields { .. } => arrays.into_iter().next().unwrap_or_default(),
        DataKind::Table => {
            let n = data.features();
            let mut out = vec![0.0; data.values.len()];
            for (j, column) in arrays.into_iter().enumerate() {
                for (r, v) in column.into_iter().enumerate() {
                    out[r * n + j] = v;
                }
            }
            out
        }
    }
}

/// A compressor of one array within its absolute bound, and its inverse.
trait ArrayCodec {
    fn compress(&self, array: &Array, dtype: FloatType) -> Result<Vec<u8>, Unavailable>;
    fn decompress(
        &self,
        bytes: &[u8],
        array: &Array,
        dtype: FloatType,
    ) -> Result<Vec<f64>, Unavailable>;
}

/// Runs `codec` on every array of the data; an array whose bound is 0 (a constant variable) is stored with
/// zstd instead, as neither SZ3 nor ZFP is meant for a zero bound.
#[cfg_attr(not(any(feature = "sz3", feature = "zfp")), allow(dead_code))]
fn run_arrays(
    data: &Dataset,
    bounds: &[VariableBound],
    codec: &dyn ArrayCodec,
) -> Result<Trial, Unavailable> {
    let arrays = arrays(data, bounds)?;
    let dtype = data.dtype;
    let compress = |a: &Array| match a.bound > 0.0 {
        true => codec.compress(a, dtype),
        false => {
            zstd::bulk::compress(&raw_bytes(&a.values, dtype), 19).map_err(|e| format!("zstd: {e}"))
        }
    };
    let decompress = |bytes: &[u8], a: &Array| match a.bound > 0.0 {
        true => codec.decompress(bytes, a, dtype),
        false => {
            let raw = zstd::bulk::decompress(bytes, a.values.len() * dtype.size())
                .map_err(|e| format!("zstd: {e}"))?;
            Ok(dtype.from_le_bytes(&raw))
        }
    };
    timed(
        || arrays.iter().map(compress).collect::<Result<Vec<_>, _>>(),
        |streams| streams.iter().map(|s| s.len() as u64).sum(),
        |streams| {
            let restored = streams
                .iter()
                .zip(&arrays)
                .map(|(s, a)| decompress(s, a))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(interleave(data, restored))
        },
    )
}

/// The reason a method of an optional feature did not run.
#[cfg_attr(all(feature = "sz3", feature = "zfp"), allow(dead_code))]
fn not_built(feature: &str) -> Unavailable {
    format!(
        "baler was built without the feature {feature} (cargo build --release --features {feature})"
    )
}

/// SZ3 3.3 within each array's absolute bound, with its default predictor (interpolation and Lorenzo) or with
/// none (`predict` false: better on a table's independent rows).
pub fn sz3(data: &Dataset, bounds: &[VariableBound], predict: bool) -> Result<Trial, Unavailable> {
    #[cfg(feature = "sz3")]
    return run_arrays(data, bounds, &Sz3 { predict });
    #[cfg(not(feature = "sz3"))]
    {
        let _ = (data, bounds, predict);
        Err(not_built("sz3"))
    }
}

#[cfg(feature = "sz3")]
struct Sz3 {
    predict: bool,
}

#[cfg(feature = "sz3")]
impl ArrayCodec for Sz3 {
    fn compress(&self, array: &Array, dtype: FloatType) -> Result<Vec<u8>, Unavailable> {
        let e = |e: sz3::SZ3Error| format!("SZ3: {e}");
        // SZ3 refuses dimensions of length 1 (but for a single value): leave them out
        let mut dims: Vec<usize> = array.dims.iter().copied().filter(|&d| d > 1).collect();
        if dims.is_empty() {
            dims.push(1);
        }
        let config = sz3::Config::new(sz3::ErrorBound::Absolute(array.bound))
            .compression_algorithm(match self.predict {
                true => sz3::CompressionAlgorithm::interpolation_lorenzo(),
                false => sz3::CompressionAlgorithm::no_prediction(),
            });
        match dtype {
            FloatType::F32 => {
                let values: Vec<f32> = array.values.iter().map(|&v| v as f32).collect();
                let mut shaped = sz3::DimensionedData::build(&values);
                for &d in &dims {
                    shaped = shaped.dim(d).map_err(e)?;
                }
                sz3::compress_with_config(&shaped.finish().map_err(e)?, &config).map_err(e)
            }
            FloatType::F64 => {
                let mut shaped = sz3::DimensionedData::build(&array.values);
                for &d in &dims {
                    shaped = shaped.dim(d).map_err(e)?;
                }
                sz3::compress_with_config(&shaped.finish().map_err(e)?, &config).map_err(e)
            }
        }
    }

    fn decompress(
        &self,
        bytes: &[u8],
        _: &Array,
        dtype: FloatType,
    ) -> Result<Vec<f64>, Unavailable> {
        let e = |e: sz3::SZ3Error| format!("SZ3: {e}");
        Ok(match dtype {
            FloatType::F32 => {
                let (_, data) = sz3::decompress::<f32, _>(bytes).map_err(e)?;
                data.into_data().into_iter().map(f64::from).collect()
            }
            FloatType::F64 => sz3::decompress::<f64, _>(bytes).map_err(e)?.1.into_data(),
        })
    }
}

/// ZFP in fixed-accuracy mode with each array's absolute bound as tolerance (the stream without a header: the
/// receiver knows the shape and tolerance).
pub fn zfp(data: &Dataset, bounds: &[VariableBound]) -> Result<Trial, Unavailable> {
    #[cfg(feature = "zfp")]
    return run_arrays(data, bounds, &zfp::Zfp);
    #[cfg(not(feature = "zfp"))]
    {
        let _ = (data, bounds);
        Err(not_built("zfp"))
    }
}

#[cfg(feature = "zfp")]
mod zfp {
    use super::{Array, ArrayCodec, Unavailable};
    use crate::data::FloatType;
    use std::ffi::c_void;
    use zfp_sys::*;

    pub struct Zfp;

    /// An array of values of the data's type, in the layout ZFP reads and writes.
    enum Buffer {
        F32(Vec<f32>),
        F64(Vec<f64>),
    }

    impl Buffer {
        fn new(values: &[f64], dtype: FloatType) -> Buffer {
            match dtype {
                FloatType::F32 => Buffer::F32(values.iter().map(|&v| v as f32).collect()),
                FloatType::F64 => Buffer::F64(values.to_vec()),
            }
        }

        fn values(self) -> Vec<f64> {
            match self {
                Buffer::F32(v) => v.into_iter().map(f64::from).collect(),
                Buffer::F64(v) => v,
            }
        }
    }

    /// Runs `body` with a ZFP field over `buffer` (`dims` slowest first) and a stream over `bytes`, freeing both.
    fn with_stream<T>(
        buffer: &mut Buffer,
        dims: &[usize],
        bytes: &mut [u8],
        body: impl FnOnce(*mut zfp_stream, *mut zfp_field) -> T,
    ) -> T {
        let (pointer, kind) = match buffer {
            Buffer::F32(v) => (v.as_mut_ptr().cast::<c_void>(), zfp_type_zfp_type_float),
            Buffer::F64(v) => (v.as_mut_ptr().cast::<c_void>(), zfp_type_zfp_type_double),
        };
        // SAFETY: the field points into `buffer`, which holds the product of `dims` values and outlives the field;
        // the bit stream covers `bytes`, which outlives it; both are freed before returning.
        unsafe {
            let field = match *dims {
                [nz, ny, nx] => zfp_field_3d(pointer, kind, nx, ny, nz),
                [ny, nx] => zfp_field_2d(pointer, kind, nx, ny),
                _ => zfp_field_1d(pointer, kind, dims.iter().product()),
            };
            let bits = stream_open(bytes.as_mut_ptr().cast::<c_void>(), bytes.len());
            let stream = zfp_stream_open(bits);
            let result = body(stream, field);
            zfp_stream_close(stream);
            stream_close(bits);
            zfp_field_free(field);
            result
        }
    }

    /// Room for the stream of `values` values: twice the raw bytes and 1 KiB, above ZFP's worst case (which
    /// compress checks with `zfp_stream_maximum_size` first).
    fn capacity(values: usize, dtype: FloatType) -> usize {
        values * dtype.size() * 2 + 1024
    }

    impl ArrayCodec for Zfp {
        fn compress(&self, array: &Array, dtype: FloatType) -> Result<Vec<u8>, Unavailable> {
            let mut buffer = Buffer::new(&array.values, dtype);
            let room = capacity(array.values.len(), dtype);
            let mut bytes = vec![0u8; room];
            let size = with_stream(&mut buffer, &array.dims, &mut bytes, |stream, field| {
                // SAFETY: stream and field are live (with_stream), and the stream has room for ZFP's worst case.
                unsafe {
                    zfp_stream_set_accuracy(stream, array.bound);
                    if zfp_stream_maximum_size(stream, field) > room {
                        return 0;
                    }
                    zfp_stream_rewind(stream);
                    zfp_compress(stream, field)
                }
            });
            match size {
                0 => Err("ZFP: compression failed".into()),
                n => {
                    bytes.truncate(n);
                    Ok(bytes)
                }
            }
        }

        fn decompress(
            &self,
            bytes: &[u8],
            array: &Array,
            dtype: FloatType,
        ) -> Result<Vec<f64>, Unavailable> {
            let mut buffer = Buffer::new(&vec![0.0; array.values.len()], dtype);
            // ZFP reads whole 64-bit words: a short final word reads zeros, not past the end
            let mut bytes = bytes.to_vec();
            bytes.resize(bytes.len() + 8, 0);
            let read = with_stream(&mut buffer, &array.dims, &mut bytes, |stream, field| {
                // SAFETY: stream and field are live (with_stream); ZFP reads within the stream's bytes.
                unsafe {
                    zfp_stream_set_accuracy(stream, array.bound);
                    zfp_stream_rewind(stream);
                    zfp_decompress(stream, field)
                }
            });
            match read {
                0 => Err("ZFP: decompression failed".into()),
                _ => Ok(buffer.values()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::bound_ratios;

    /// A table whose columns differ in scale by 10⁶ (a column mixed up with another breaks its bound), with a
    /// constant column (bound 0), in `dtype`.
    fn table(dtype: FloatType) -> (Dataset, Vec<VariableBound>) {
        let rows = 500;
        let values = (0..rows)
            .flat_map(|r| {
                let x = r as f64;
                [(x * 0.37).sin() * 1e3, (x * 0.11).cos() * 1e-3, 7.0]
            })
            .map(|v| {
                if dtype == FloatType::F32 {
                    f64::from(v as f32)
                } else {
                    v
                }
            })
            .collect();
        let data = Dataset {
            kind: DataKind::Table,
            names: vec!["a".into(), "b".into(), "c".into()],
            dtype,
            rows,
            values,
        };
        (
            data,
            vec![
                VariableBound::Abs(2.0),
                VariableBound::Abs(2e-6),
                VariableBound::Abs(0.0),
            ],
        )
    }

    /// A stack of 4 smooth 16 × 24 fields.
    fn fields() -> (Dataset, Vec<VariableBound>) {
        let (height, width, frames) = (16, 24, 4);
        let values = (0..frames * height * width)
            .map(|i| ((i % width) as f64 * 0.3).sin() + ((i / width) as f64 * 0.05).cos())
            .collect();
        let kind = DataKind::Fields { height, width };
        let data = Dataset {
            kind,
            names: vec![],
            dtype: FloatType::F64,
            rows: frames,
            values,
        };
        (data, vec![VariableBound::Abs(1e-3)])
    }

    fn worst(data: &Dataset, trial: &Trial, bounds: &[VariableBound]) -> f64 {
        bound_ratios(&data.values, &trial.restored, bounds)
            .into_iter()
            .fold(0.0, f64::max)
    }

    #[test]
    fn zstd_restores_every_bit() {
        for dtype in [FloatType::F32, FloatType::F64] {
            let (data, _) = table(dtype);
            let trial = zstd_lossless(&data, 3).unwrap();
            assert_eq!(trial.restored, data.values);
            assert!(trial.bytes < data.raw_bytes() as u64);
        }
    }

    #[test]
    fn sz3_and_zfp_keep_every_bound_column_by_column_and_on_fields_or_say_they_were_not_built() {
        let cases = [table(FloatType::F32), table(FloatType::F64), fields()];
        for (data, bounds) in cases {
            for (feature, built, trial) in [
                ("sz3", cfg!(feature = "sz3"), sz3(&data, &bounds, true)),
                ("sz3", cfg!(feature = "sz3"), sz3(&data, &bounds, false)),
                ("zfp", cfg!(feature = "zfp"), zfp(&data, &bounds)),
            ] {
                match (built, trial) {
                    (true, Ok(trial)) => {
                        assert!(
                            worst(&data, &trial, &bounds) <= 1.0,
                            "{feature} {:?}",
                            data.kind
                        );
                        assert!(
                            trial.bytes < data.raw_bytes() as u64,
                            "{feature} {:?}",
                            data.kind
                        );
                    }
                    (false, Err(why)) => assert!(why.contains(feature), "{why}"),
                    (_, Err(why)) => panic!("{feature}: {why}"),
                    (false, Ok(_)) => panic!("{feature} ran without being built"),
                }
            }
        }
    }

    #[test]
    fn sz3_and_zfp_refuse_non_finite_data_and_point_wise_bounds() {
        let (mut data, bounds) = table(FloatType::F64);
        data.values[4] = f64::NAN;
        let pw = [VariableBound::Pw(0.01); 3];
        for result in [
            arrays(&data, &bounds).map(|_| ()),
            arrays(&table(FloatType::F64).0, &pw).map(|_| ()),
        ] {
            assert!(result.is_err());
        }
        assert!(
            arrays(&data, &bounds)
                .err()
                .unwrap()
                .contains("1 NaN or infinite")
        );
    }
}
