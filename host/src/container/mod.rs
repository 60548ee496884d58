//! The container, the compressed file (`.baler`): magic, version, a JSON header (shape, dtype, variable names,
//! model id, latent size and precision, error bounds), the zstd-compressed latent payload, the residual section of
//! an error-bounded file, and a CRC-32; data larger than memory as a chunked file of such files. See
//! docs/format.md. Decoding is sized by the header and held to a memory budget, never by what the payload claims.

mod chunked;
mod residuals;

pub use chunked::{Chunk, ChunkWriter, CompressedSource, VERSION_CHUNKED};
pub use residuals::{CodeLayout, GridDecoder, GridEncoder, ResidualCodes, Residuals};

use crate::data::{DataKind, FloatType};
use crate::error::{Error, Result};
use crate::interpolation::{Grid, Scheme};
use half::f16;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;
use std::path::Path;

/// First eight bytes of every compressed file.
pub const MAGIC: [u8; 8] = *b"\x89BALER\r\n";
/// The format version of a file without residuals (this build writes and reads it).
pub const VERSION: u16 = 1;
/// The format version of an error-bounded file: version 1 and a residual section after the latent payload.
pub const VERSION_BOUNDED: u16 = 2;
const MAX_HEADER: usize = 1 << 20;
/// Payload bytes decoded at a time.
const CHUNK: usize = 1 << 16;

/// The memory a compressed file may make decoding hold unless [`MEMORY_BUDGET_ENV`] says otherwise: 8 GiB,
/// counted as [`Header::decoded_bytes`] (the latent values and the restored data).
pub const DEFAULT_MEMORY_BUDGET: u64 = 8 << 30;

pub use crate::error::MEMORY_BUDGET_ENV;

/// The memory budget in force: [`MEMORY_BUDGET_ENV`] when set, else [`DEFAULT_MEMORY_BUDGET`]. A value that
/// is not a byte count is an error naming the variable.
pub fn memory_budget() -> Result<u64> {
    match std::env::var(MEMORY_BUDGET_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MEMORY_BUDGET),
        Ok(text) => parse_byte_count(&text).ok_or_else(|| Error::Config {
            path: MEMORY_BUDGET_ENV.into(),
            message: format!(
                "'{text}' is not a byte count (write e.g. 8589934592, 8192M or 8G; suffixes K, M, G, T are powers of 1024)"
            ),
        }),
        Err(e) => Err(Error::Config {
            path: MEMORY_BUDGET_ENV.into(),
            message: e.to_string(),
        }),
    }
}

/// `123`, `512K`, `8M`, `64G`, `1T` (binary multiples) as bytes; `None` for anything else or on overflow.
fn parse_byte_count(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.as_bytes().last()?.to_ascii_uppercase() {
        b'K' => (&text[..text.len() - 1], 10),
        b'M' => (&text[..text.len() - 1], 20),
        b'G' => (&text[..text.len() - 1], 30),
        b'T' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Precision of the stored latent codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LatentPrecision {
    /// 32-bit float.
    #[default]
    F32,
    /// 16-bit float (IEEE half).
    F16,
    /// Integer multiples of a power-of-two step (the header's `latent_step`), pco-compressed per latent
    /// dimension: the quantised decoder's own input codes, or coarser ones (error-bounded mode chooses the step
    /// that makes the file smallest). Needs the quantised model.
    Codes,
}

impl LatentPrecision {
    /// `f32`, `f16` or `codes`, as files and the command line name it.
    pub fn name(self) -> &'static str {
        match self {
            LatentPrecision::F32 => "f32",
            LatentPrecision::F16 => "f16",
            LatentPrecision::Codes => "codes",
        }
    }

    /// `value` as stored: rounded to f16 or f32; `None` where it is beyond the type's finite range.
    pub fn store(self, value: f64) -> Option<f32> {
        let stored = match self {
            LatentPrecision::F32 | LatentPrecision::Codes => value as f32,
            LatentPrecision::F16 => half::f16::from_f64(value).to_f32(),
        };
        stored.is_finite().then_some(stored)
    }

    /// Rounds every latent value to this precision, or says which value it cannot hold.
    pub fn store_all(self, latent: impl IntoIterator<Item = f64>) -> crate::Result<Vec<f32>> {
        latent
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                self.store(v).ok_or_else(|| {
                    crate::Error::Mismatch(format!(
                        "latent value {i} is {v}, beyond the range of {self:?} latent storage; \
                         use --latent-precision f32 (or check the data for outliers)"
                    ))
                })
            })
            .collect()
    }

    /// Bytes per latent value.
    pub fn size(self) -> usize {
        match self {
            LatentPrecision::F32 | LatentPrecision::Codes => 4,
            LatentPrecision::F16 => 2,
        }
    }
}

/// The bound one variable of an error-bounded file keeps to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableBound {
    /// |restored − original| ≤ this.
    Abs(f64),
    /// |restored − original| ≤ this × |original| (point-wise relative: zero comes back as zero).
    Pw(f64),
}

impl VariableBound {
    /// The bound's number (absolute, or the relative factor).
    pub fn value(self) -> f64 {
        match self {
            VariableBound::Abs(b) | VariableBound::Pw(b) => b,
        }
    }

    /// How far `restored` may be from `original` under this bound.
    pub fn allowed(self, original: f64) -> f64 {
        match self {
            VariableBound::Abs(b) => b,
            VariableBound::Pw(r) => r * original.abs(),
        }
    }
}

impl fmt::Display for VariableBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VariableBound::Abs(b) => write!(f, "±{b:.3e}"),
            VariableBound::Pw(r) => write!(f, "±{r:.3e}×|x|"),
        }
    }
}

/// What predicts the values of an error-bounded file, whose residuals correct it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Predictor {
    /// The fixed-point decoder's reconstruction.
    #[default]
    Autoencoder,
    /// Fields: the decoder's reconstruction, and 2-D Lorenzo (above + left − above-left) on the residual it leaves.
    #[value(name = "autoencoder+lorenzo")]
    #[serde(rename = "autoencoder+lorenzo")]
    AutoencoderLorenzo,
    /// Fields: 2-D Lorenzo alone (the decoder is not used).
    Lorenzo,
    /// Fields: the decoder's reconstruction, and multilevel interpolation across frames, rows and columns on the
    /// residual it leaves (codes range-coded in context).
    #[value(name = "autoencoder+interpolation")]
    #[serde(rename = "autoencoder+interpolation")]
    AutoencoderInterpolation,
    /// Fields: multilevel interpolation alone, SZ3's predictor (the decoder is not used).
    Interpolation,
    /// No prediction: the quantiser alone (the decoder is not used).
    None,
}

impl std::fmt::Display for Predictor {
    /// The name the command line gives it: `autoencoder+interpolation`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = clap::ValueEnum::to_possible_value(self).expect("every predictor is named");
        f.write_str(value.get_name())
    }
}

impl Predictor {
    fn is_default(&self) -> bool {
        *self == Predictor::Autoencoder
    }

    /// Whether it runs the decoder on the latent (else the latent is stored as zeros and the receiver needs no
    /// decoder).
    pub fn uses_decoder(self) -> bool {
        matches!(
            self,
            Predictor::Autoencoder
                | Predictor::AutoencoderLorenzo
                | Predictor::AutoencoderInterpolation
        )
    }

    /// Whether it interpolates across the fields (with a [`Scheme`]).
    pub fn interpolates(self) -> bool {
        matches!(
            self,
            Predictor::Interpolation | Predictor::AutoencoderInterpolation
        )
    }

    /// Every predictor for data of `kind`: a table's rows are independent, so it has no local ones.
    pub fn fitting(kind: DataKind) -> Vec<Predictor> {
        let all = [
            Predictor::Autoencoder,
            Predictor::AutoencoderLorenzo,
            Predictor::AutoencoderInterpolation,
            Predictor::Lorenzo,
            Predictor::Interpolation,
            Predictor::None,
        ];
        let table = kind == DataKind::Table;
        all.into_iter()
            .filter(|p| !(table && p.is_local()))
            .collect()
    }

    /// Whether it is for fields only (it predicts a value from its neighbours in the field).
    pub fn is_local(self) -> bool {
        !matches!(self, Predictor::Autoencoder | Predictor::None)
    }
}

/// The header of a compressed file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Id of the model whose decoder restores the data.
    pub model_id: String,
    /// Table or fields.
    pub kind: DataKind,
    /// Shape of the original array.
    pub shape: Vec<usize>,
    /// Stored type of the original array.
    pub dtype: FloatType,
    /// Variable names of a table.
    pub names: Vec<String>,
    /// Latent values per sample.
    pub latent_size: usize,
    /// Precision of the stored latent values.
    pub latent_precision: LatentPrecision,
    /// With [`LatentPrecision::Codes`]: the value of one step of the stored integers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latent_step: Option<f64>,
    /// Error-bounded files: the bound of each variable (one for fields), which every restored value keeps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_bounds: Option<Vec<VariableBound>>,
    /// Error-bounded files: what predicts the values.
    #[serde(default, skip_serializing_if = "Predictor::is_default")]
    pub predictor: Predictor,
    /// Error-bounded tables: which variables the model saw as integer-valued (restored by rounding where their
    /// bound is below ½), so that a file whose predictor reads no latent is restored without the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integer: Option<Vec<bool>>,
    /// The interpolation predictors: how the walk runs (absent in files written before 2026-11-28, which walk
    /// with [`Scheme::default`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpolation: Option<Scheme>,
}

impl Header {
    /// Number of samples.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Latent values the payload holds: rows × latent size (`None` on overflow).
    pub fn latent_values(&self) -> Option<u64> {
        (self.rows() as u64).checked_mul(self.latent_size as u64)
    }

    /// Values in the data (the product of `shape`; `None` on overflow).
    pub fn data_values(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
    }

    /// How the residual codes are coded: over the grid of fields for the interpolation predictors, else per
    /// variable.
    pub fn code_layout(&self) -> CodeLayout {
        match (self.predictor, self.kind) {
            (
                Predictor::Interpolation | Predictor::AutoencoderInterpolation,
                DataKind::Fields { height, width },
            ) => CodeLayout::Grid(Grid {
                frames: self.rows(),
                height,
                width,
            }),
            _ => CodeLayout::Streams,
        }
    }

    /// How the interpolation predictors walk: the header's scheme, else that of files before it had one.
    pub fn scheme(&self) -> Scheme {
        self.interpolation.unwrap_or_default()
    }

    /// Variables the error bounds and residual codes are kept per: the table's, or one for fields.
    pub fn variables(&self) -> usize {
        match self.kind {
            DataKind::Table => self.names.len(),
            DataKind::Fields { .. } => 1,
        }
    }

    /// Memory that decoding the file holds, from the header alone: the latent values as `f32` (4 bytes
    /// each) and the restored data as `f64` (8 bytes per value of `shape`), as decompression holds them; an
    /// error-bounded file's residuals at most 20 bytes more per value (a code, or a position and exact bits).
    /// `None` on overflow.
    pub fn decoded_bytes(&self) -> Option<u64> {
        let per_value = if self.error_bounds.is_some() { 28 } else { 8 };
        self.latent_values()?
            .checked_mul(4)?
            .checked_add(self.data_values()?.checked_mul(per_value)?)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let shape_ok = match self.kind {
            DataKind::Table => self.shape.len() == 2 && self.shape[1] == self.names.len(),
            DataKind::Fields { height, width } => {
                self.shape.len() == 3 && self.shape[1..] == [height, width]
            }
        };
        if !shape_ok {
            return Err(format!(
                "header shape {:?} does not fit {} and {} names",
                self.shape,
                self.kind,
                self.names.len()
            ));
        }
        if self.shape.contains(&0) {
            return Err("header describes empty data".into());
        }
        // only a predictor that reads no latent goes without one
        let needs_latent = self.error_bounds.is_none() || self.predictor.uses_decoder();
        if self.latent_size == 0 && needs_latent {
            return Err(format!("latent size 0 with predictor {:?}", self.predictor));
        }
        let step_ok = match (self.latent_precision, self.latent_step) {
            (LatentPrecision::Codes, Some(step)) => step.is_finite() && step > 0.0,
            // a file without a latent (a predictor that reads none, compressed without a model) has no step
            (LatentPrecision::Codes, None) => self.latent_size == 0,
            (_, step) => step.is_none(),
        };
        if !step_ok {
            return Err(format!(
                "latent step {:?} with precision {:?}: codes need a finite positive step, the others none",
                self.latent_step, self.latent_precision
            ));
        }
        let fields = matches!(self.kind, DataKind::Fields { .. });
        let fits = match self.predictor {
            Predictor::Autoencoder => true,
            Predictor::None => self.error_bounds.is_some(),
            p => p.is_local() && fields && self.error_bounds.is_some(),
        };
        if !fits {
            return Err(format!(
                "predictor {:?} is for error-bounded {}only",
                self.predictor,
                if self.predictor == Predictor::None {
                    "files "
                } else {
                    "fields "
                }
            ));
        }
        if let Some(integer) = &self.integer
            && (fields || self.error_bounds.is_none() || integer.len() != self.names.len())
        {
            return Err(format!(
                "integer flags {integer:?}: error-bounded tables only, one per variable ({})",
                self.names.len()
            ));
        }
        if let Some(scheme) = &self.interpolation {
            if !self.predictor.interpolates() {
                return Err(format!(
                    "an interpolation scheme with predictor {:?}",
                    self.predictor
                ));
            }
            scheme.check()?;
        }
        if let Some(bounds) = &self.error_bounds
            && (bounds.len() != self.variables()
                || !bounds
                    .iter()
                    .all(|b| b.value().is_finite() && b.value() >= 0.0))
        {
            return Err(format!(
                "error bounds {bounds:?}: there must be one finite, non-negative bound per variable ({})",
                self.variables()
            ));
        }
        Ok(())
    }
}

/// A compressed file in memory: header, the latent values (rows × latent_size, row-major) and, in an
/// error-bounded file, the residuals.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressedFile {
    /// Description of the data.
    pub header: Header,
    /// Latent values, already rounded to the header's precision.
    pub latent: Vec<f32>,
    /// The residuals of an error-bounded file (present exactly when the header has error bounds).
    pub residuals: Option<Residuals>,
}

/// A compressed file's bytes and the size of its sections.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// The whole file.
    pub bytes: Vec<u8>,
    /// The compressed latent payload.
    pub latent_bytes: usize,
    /// The residual section (0 without one).
    pub residual_bytes: usize,
}

impl CompressedFile {
    /// Encodes to bytes with the given zstd level.
    pub fn to_bytes(&self, zstd_level: i32) -> Vec<u8> {
        self.encode(zstd_level).bytes
    }

    /// Encodes to bytes with the given zstd level, saying how large each section is.
    pub fn encode(&self, zstd_level: i32) -> Encoded {
        let payload = match (self.header.latent_precision, self.header.latent_step) {
            (LatentPrecision::Codes, step) => {
                // only a file without a latent has no step (Header::check)
                let step = step.unwrap_or(1.0);
                let dims = self.header.latent_size;
                let mut out = Vec::new();
                for d in 0..dims {
                    let codes: Vec<i32> = self
                        .latent
                        .iter()
                        .skip(d)
                        .step_by(dims)
                        .map(|&v| (f64::from(v) / step) as i32)
                        .collect();
                    // a column of zeros (the latent of a predictor that does not read it) is an empty stream
                    let codes = match codes.iter().all(|&c| c == 0) {
                        true => &[][..],
                        false => &codes[..],
                    };
                    crate::int_streams::put_stream(&mut out, codes);
                }
                out
            }
            _ => self.zstd_payload(zstd_level),
        };
        let residuals = self.residuals.as_ref().map(Residuals::to_bytes);
        Encoded {
            bytes: Self::assemble_with(&self.header, &payload, residuals.as_deref()),
            latent_bytes: payload.len(),
            residual_bytes: residuals.map_or(0, |r| r.len()),
        }
    }

    /// The latent as little-endian floats of its precision, zstd-compressed.
    fn zstd_payload(&self, zstd_level: i32) -> Vec<u8> {
        let raw: Vec<u8> = match self.header.latent_precision {
            LatentPrecision::F32 | LatentPrecision::Codes => {
                self.latent.iter().flat_map(|v| v.to_le_bytes()).collect()
            }
            LatentPrecision::F16 => self
                .latent
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect(),
        };
        zstd::bulk::compress(&raw, zstd_level).expect("zstd compresses in memory")
    }

    /// The file's bytes from a header and an already compressed payload: magic, version, header length and
    /// JSON, payload length and bytes, CRC-32 of all before it. (Tests use it to build crafted files.)
    pub fn assemble(header: &Header, payload: &[u8]) -> Vec<u8> {
        Self::assemble_with(header, payload, None)
    }

    /// [`CompressedFile::assemble`] with a residual section after the payload (its length, then its bytes),
    /// which makes it a version-2 file.
    pub fn assemble_with(header: &Header, payload: &[u8], residuals: Option<&[u8]>) -> Vec<u8> {
        let header = serde_json::to_vec(header).expect("header serialises");
        let mut out = MAGIC.to_vec();
        let version = match residuals {
            Some(_) => VERSION_BOUNDED,
            None => VERSION,
        };
        out.extend(version.to_le_bytes());
        out.extend((header.len() as u32).to_le_bytes());
        out.extend(&header);
        for section in [Some(payload), residuals].into_iter().flatten() {
            out.extend((section.len() as u64).to_le_bytes());
            out.extend(section);
        }
        out.extend(crc32fast::hash(&out).to_le_bytes());
        out
    }

    /// Parses and checks bytes within the [`memory_budget`]; `path` names the file in errors. Never panics
    /// on any input.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        Self::from_bytes_within(bytes, path, memory_budget()?)
    }

    /// Parses and checks bytes, refusing a file whose [`Header::decoded_bytes`] exceed `budget` before
    /// anything is decoded; `path` names the file in errors. Never panics on any input, and holds at most
    /// the header's latent values (within the budget) however much the payload would decompress to.
    pub fn from_bytes_within(bytes: &[u8], path: &Path, budget: u64) -> Result<Self> {
        let bad = |m: &str| Error::malformed(path, format!("not a valid compressed file: {m}"));
        let mut cursor = Cursor { bytes, at: 0 };
        if cursor.take(8).ok_or_else(|| bad("too short"))? != MAGIC {
            return Err(bad("wrong magic number (is this a .baler file?)"));
        }
        let version = u16::from_le_bytes(cursor.array().ok_or_else(|| bad("truncated"))?);
        if version != VERSION && version != VERSION_BOUNDED {
            return Err(bad(&format!(
                "format version {version}; this build reads versions {VERSION} and {VERSION_BOUNDED}"
            )));
        }
        let header_len =
            u32::from_le_bytes(cursor.array().ok_or_else(|| bad("truncated"))?) as usize;
        if header_len > MAX_HEADER {
            return Err(bad("header too large"));
        }
        let header_bytes = cursor
            .take(header_len)
            .ok_or_else(|| bad("truncated header"))?;
        let mut section = || {
            let len = u64::from_le_bytes(cursor.array().ok_or_else(|| bad("truncated"))?);
            usize::try_from(len)
                .ok()
                .and_then(|n| cursor.take(n))
                .ok_or_else(|| bad("truncated payload"))
        };
        let payload = section()?;
        let residual_bytes = match version {
            VERSION_BOUNDED => Some(section()?),
            _ => None,
        };
        let body_end = cursor.at;
        let crc = u32::from_le_bytes(cursor.array().ok_or_else(|| bad("truncated checksum"))?);
        if cursor.at != bytes.len() {
            return Err(bad("trailing bytes after the checksum"));
        }
        if crc32fast::hash(&bytes[..body_end]) != crc {
            return Err(bad("checksum mismatch: the file is corrupted"));
        }
        let header: Header =
            serde_json::from_slice(header_bytes).map_err(|e| bad(&format!("header: {e}")))?;
        header.check().map_err(|m| bad(&m))?;
        if header.error_bounds.is_some() != residual_bytes.is_some() {
            return Err(bad(&format!(
                "a version-{version} file {} error bounds in its header",
                if residual_bytes.is_some() {
                    "must have"
                } else {
                    "cannot have"
                }
            )));
        }
        let over = |needed| Error::OverBudget {
            path: path.to_path_buf(),
            what: format!(
                "decoding the {} latent values and restoring the data of shape {:?} the header announces",
                header.latent_values().unwrap_or(u64::MAX),
                header.shape
            ),
            needed,
            budget,
        };
        match header.decoded_bytes() {
            Some(needed) if needed <= budget => {}
            needed => return Err(over(needed.unwrap_or(u64::MAX))),
        }
        let values = header
            .latent_values()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| over(u64::MAX))?;
        let latent = match (header.latent_precision, header.latent_step) {
            (LatentPrecision::Codes, step) => {
                let step = step.unwrap_or(1.0); // only a file without a latent has none
                decode_codes(payload, header.rows(), header.latent_size, step)
            }
            (precision, _) => decode_latent(payload, precision, values),
        }
        .map_err(|m| bad(&format!("payload: {m}")))?;
        let residuals = match residual_bytes {
            Some(bytes) => {
                let data_values = header.data_values().and_then(|n| usize::try_from(n).ok());
                let data_values = data_values.ok_or_else(|| over(u64::MAX))?;
                Some(
                    Residuals::from_bytes(
                        bytes,
                        data_values,
                        header.variables(),
                        header.code_layout(),
                    )
                    .map_err(|m| bad(&format!("residuals: {m}")))?,
                )
            }
            None => None,
        };
        Ok(CompressedFile {
            header,
            latent,
            residuals,
        })
    }

    /// Reads a compressed file from disk.
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_bytes(&crate::fsutil::read_bytes(path)?, path)
    }
}

/// Decodes `dims` pco streams of `rows` integer codes each into the latent values (code × `step`, row-major).
fn decode_codes(
    payload: &[u8],
    rows: usize,
    dims: usize,
    step: f64,
) -> std::result::Result<Vec<f32>, String> {
    let mut at = 0;
    let columns: Vec<Vec<i32>> = (0..dims)
        .map(|_| {
            // an empty stream is a column of zeros
            match payload.get(at..at + 8) {
                Some(len) if len == [0; 8] => {
                    at += 8;
                    Ok(vec![0; rows])
                }
                _ => crate::int_streams::get_stream(payload, &mut at, rows, "latent codes"),
            }
        })
        .collect::<std::result::Result<_, _>>()?;
    if at != payload.len() {
        return Err("bytes after the last latent stream".into());
    }
    Ok((0..rows * dims)
        .map(|i| (f64::from(columns[i % dims][i / dims]) * step) as f32)
        .collect())
}

/// Decompresses exactly `values` latent values in `precision` from `payload`, `CHUNK` bytes at a time: the
/// output grows only as values arrive and never beyond `values`, and decoding stops as soon as the payload
/// gives more than that.
fn decode_latent(
    payload: &[u8],
    precision: LatentPrecision,
    values: usize,
) -> std::result::Result<Vec<f32>, String> {
    let size = precision.size();
    let expected = values as u64 * size as u64;
    let mut decoder =
        zstd::stream::read::Decoder::with_buffer(payload).map_err(|e| e.to_string())?;
    // our frames are written with their content size, so their window is at most the payload's size
    // (rounded up to a power of two, at least 1 KiB): refuse the larger windows a crafted frame could ask
    // the decoder to allocate
    let window_log = (u64::BITS - (expected.max(1) - 1).leading_zeros()).clamp(10, 27);
    decoder
        .window_log_max(window_log)
        .map_err(|e| e.to_string())?;
    let mut latent: Vec<f32> = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    let mut filled = 0;
    loop {
        let n = match decoder.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        filled += n;
        let whole = filled - filled % size;
        let arrived = whole / size;
        if arrived > values - latent.len() {
            return Err(format!(
                "it decodes to more than the {expected} bytes the header announces"
            ));
        }
        if latent.capacity() - latent.len() < arrived {
            // double as values arrive, but never past what the header announces
            let target = (latent.len() * 2)
                .max(latent.len() + arrived)
                .max(CHUNK / size)
                .min(values);
            latent
                .try_reserve_exact(target - latent.len())
                .map_err(|e| e.to_string())?;
        }
        match precision {
            LatentPrecision::F32 | LatentPrecision::Codes => latent.extend(
                chunk[..whole]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            LatentPrecision::F16 => latent.extend(
                chunk[..whole]
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()),
            ),
        }
        chunk.copy_within(whole..filled, 0);
        filled -= whole;
    }
    let got = latent.len() as u64 * size as u64 + filled as u64;
    if got != expected {
        return Err(format!(
            "it holds {got} bytes, the header announces {expected}"
        ));
    }
    Ok(latent)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_coder::Contexts;

    fn sample(precision: LatentPrecision) -> CompressedFile {
        CompressedFile {
            header: Header {
                model_id: "00112233445566778899aabbccddeeff".into(),
                kind: DataKind::Table,
                shape: vec![3, 2],
                dtype: FloatType::F32,
                names: vec!["a".into(), "b".into()],
                latent_size: 1,
                latent_precision: precision,
                latent_step: None,
                error_bounds: None,
                predictor: Predictor::Autoencoder,
                integer: None,
                interpolation: None,
            },
            latent: vec![0.5, -1.25, 3.0],
            residuals: None,
        }
    }

    #[test]
    fn an_error_bounded_file_round_trips_as_version_2() {
        let mut file = sample(LatentPrecision::F16);
        file.header.error_bounds = Some(vec![VariableBound::Abs(0.5), VariableBound::Pw(0.0)]);
        file.residuals = Some(Residuals {
            codes: ResidualCodes::Streams(vec![vec![0, 7, 3], vec![1, -2]]),
            exact_at: vec![1],
            exact_bits: vec![f64::INFINITY.to_bits()],
        });
        let bytes = file.to_bytes(3);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), VERSION_BOUNDED);
        assert_eq!(
            CompressedFile::from_bytes(&bytes, Path::new("x")).unwrap(),
            file
        );
        // bounds without residuals, residuals without bounds, a bound per variable missing: refused
        let payload = zstd::bulk::compress(&[0u8; 6], 3).unwrap();
        let bounded_v1 = CompressedFile::assemble(&file.header, &payload);
        let err = CompressedFile::from_bytes(&bounded_v1, Path::new("x")).unwrap_err();
        assert!(
            err.to_string()
                .contains("version-1 file cannot have error bounds"),
            "{err}"
        );
        let mut header = file.header.clone();
        header.error_bounds = Some(vec![VariableBound::Abs(0.5)]);
        let residuals = file.residuals.as_ref().unwrap().to_bytes();
        let short = CompressedFile::assemble_with(&header, &payload, Some(&residuals));
        let err = CompressedFile::from_bytes(&short, Path::new("x")).unwrap_err();
        assert!(
            err.to_string()
                .contains("one finite, non-negative bound per variable (2)"),
            "{err}"
        );
        // integer flags: one per variable of an error-bounded table
        let mut flagged = file.clone();
        flagged.header.integer = Some(vec![false, true]);
        let bytes = flagged.to_bytes(3);
        assert_eq!(
            CompressedFile::from_bytes(&bytes, Path::new("x")).unwrap(),
            flagged
        );
        let mut header = file.header.clone();
        header.integer = Some(vec![true]);
        let one_flag = CompressedFile::assemble_with(&header, &payload, Some(&residuals));
        let err = CompressedFile::from_bytes(&one_flag, Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("one per variable (2)"), "{err}");
    }

    #[test]
    fn a_predictor_that_reads_no_latent_stores_none() {
        let mut file = sample(LatentPrecision::Codes);
        file.header.latent_step = Some(0.25);
        file.header.error_bounds = Some(vec![VariableBound::Abs(0.5); 2]);
        file.header.predictor = Predictor::None;
        file.residuals = Some(Residuals {
            codes: ResidualCodes::Streams(vec![vec![0, 7, 3], vec![1, -2, 0]]),
            ..Residuals::default()
        });
        // no latent; before 2026-11-28 the model's latent size in empty (all-zero) streams, 8 bytes each: both read
        let mut without = file.clone();
        (without.header.latent_size, without.latent) = (0, vec![]);
        let mut zeros = file.clone();
        (zeros.header.latent_size, zeros.latent) = (3, vec![0.0; 9]);
        let (a, b) = (without.to_bytes(3), zeros.to_bytes(3));
        for (bytes, file) in [(&a, &without), (&b, &zeros)] {
            assert_eq!(
                &CompressedFile::from_bytes(bytes, Path::new("x")).unwrap(),
                file
            );
        }
        assert!(
            a.len() + 3 * 8 <= b.len() + 2,
            "{} and {} bytes",
            a.len(),
            b.len()
        );
        // a predictor that reads the latent must have one
        without.header.predictor = Predictor::Autoencoder;
        let err = CompressedFile::from_bytes(&without.to_bytes(3), Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("latent size 0"), "{err}");
    }

    #[test]
    fn an_interpolation_scheme_round_trips_and_is_checked() {
        let scheme = Scheme {
            axes: [1, 2, 0],
            spline: crate::interpolation::Spline::Linear,
            growth: 1.25,
            cap: 2.0,
            contexts: Contexts::NEWEST,
        };
        let file = CompressedFile {
            header: Header {
                kind: DataKind::Fields {
                    height: 2,
                    width: 3,
                },
                shape: vec![2, 2, 3],
                names: vec![],
                latent_size: 0,
                latent_step: Some(0.25),
                error_bounds: Some(vec![VariableBound::Abs(0.1)]),
                predictor: Predictor::Interpolation,
                interpolation: Some(scheme),
                ..sample(LatentPrecision::Codes).header
            },
            latent: vec![],
            residuals: Some(Residuals {
                codes: ResidualCodes::Grid(vec![0x5a; 9]),
                ..Residuals::default()
            }),
        };
        let bytes = file.to_bytes(3);
        let read = CompressedFile::from_bytes(&bytes, Path::new("x")).unwrap();
        assert_eq!(read, file);
        assert_eq!(
            read.header.code_layout(),
            CodeLayout::Grid(Grid {
                frames: 2,
                height: 2,
                width: 3
            })
        );
        // files written before the sign contexts read their codes in the contexts they were written in
        let json = |file: &CompressedFile| serde_json::to_string(&file.header).unwrap();
        assert!(json(&file).contains(r#""contexts":"magnitudes-and-signs""#));
        let mut before_signs = file.clone();
        before_signs.header.interpolation = Some(Scheme {
            contexts: Contexts::Magnitudes,
            ..scheme
        });
        assert!(!json(&before_signs).contains("contexts"));
        let read = CompressedFile::from_bytes(&before_signs.to_bytes(3), Path::new("x")).unwrap();
        assert_eq!(read.header.scheme().contexts, Contexts::Magnitudes);
        assert_eq!(read, before_signs);
        // files written before the scheme was recorded walk with the default
        let mut older = file.clone();
        older.header.interpolation = None;
        let read = CompressedFile::from_bytes(&older.to_bytes(3), Path::new("x")).unwrap();
        assert_eq!(read.header.scheme(), Scheme::default());
        // a scheme that is not one, or on a predictor that does not interpolate: refused
        let mut bad = file.clone();
        bad.header.interpolation = Some(Scheme {
            axes: [1, 1, 0],
            ..scheme
        });
        let err = CompressedFile::from_bytes(&bad.to_bytes(3), Path::new("x")).unwrap_err();
        assert!(
            err.to_string().contains("the axes must be 0, 1 and 2"),
            "{err}"
        );
        let mut lorenzo = file.clone();
        lorenzo.header.predictor = Predictor::Lorenzo;
        let err = CompressedFile::from_bytes(&lorenzo.to_bytes(3), Path::new("x")).unwrap_err();
        assert!(
            err.to_string()
                .contains("an interpolation scheme with predictor Lorenzo"),
            "{err}"
        );
    }

    #[test]
    fn round_trips_in_both_precisions() {
        for p in [LatentPrecision::F32, LatentPrecision::F16] {
            let file = sample(p);
            let bytes = file.to_bytes(3);
            assert_eq!(
                CompressedFile::from_bytes(&bytes, Path::new("x")).unwrap(),
                file
            );
        }
    }

    /// One zstd frame of `n` zero bytes, compressed as a stream (never held whole).
    fn zeros(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        zstd::stream::copy_encode(std::io::repeat(0).take(n), &mut out, 1).unwrap();
        out
    }

    #[test]
    fn a_header_over_the_budget_is_refused_before_decoding() {
        // 2^33 rows × 8 latent f32 values: 256 GiB of latent plus 64 GiB of data, from a few bytes
        let mut file = sample(LatentPrecision::F32);
        file.header.shape = vec![1 << 33, 2];
        file.header.latent_size = 8;
        let bytes = CompressedFile::assemble(&file.header, &zeros(1 << 20));
        match CompressedFile::from_bytes_within(&bytes, Path::new("bomb.baler"), 8 << 30) {
            Err(Error::OverBudget {
                path,
                needed,
                budget,
                ..
            }) => {
                assert_eq!(path, Path::new("bomb.baler"));
                assert_eq!(needed, (1u64 << 33) * 8 * 4 + (1u64 << 34) * 8);
                assert_eq!(budget, 8 << 30);
            }
            other => panic!("{other:?}"),
        }
        // a shape whose size overflows is over any budget
        file.header.shape = vec![usize::MAX, 2];
        let bytes = CompressedFile::assemble(&file.header, &zeros(16));
        assert!(matches!(
            CompressedFile::from_bytes_within(&bytes, Path::new("x"), u64::MAX),
            Err(Error::OverBudget { .. })
        ));
        // the same header within a budget that allows it decodes as usual
        let small = sample(LatentPrecision::F32);
        let bytes = small.to_bytes(3);
        let needed = small.header.decoded_bytes().unwrap();
        assert_eq!(needed, 3 * 4 + 6 * 8);
        assert!(CompressedFile::from_bytes_within(&bytes, Path::new("x"), needed - 1).is_err());
        assert_eq!(
            CompressedFile::from_bytes_within(&bytes, Path::new("x"), needed).unwrap(),
            small
        );
    }

    #[test]
    fn a_payload_longer_than_the_header_says_stops_at_once() {
        // the header announces 2^18 latent values (1 MiB); the payload inflates to 1 GiB
        let mut file = sample(LatentPrecision::F32);
        file.header.shape = vec![1 << 18, 2];
        let bytes = CompressedFile::assemble(&file.header, &zeros(1 << 30));
        assert!(bytes.len() < 256 << 10, "{} bytes", bytes.len());
        let start = std::time::Instant::now();
        let err = CompressedFile::from_bytes_within(&bytes, Path::new("x"), u64::MAX)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("decodes to more than the 1048576 bytes"),
            "{err}"
        );
        // decoding the whole gigabyte takes far longer than the first mebibyte
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        // behind a header that announces 12 bytes, the frame's 512 KiB window is refused outright
        let file = sample(LatentPrecision::F32);
        let bytes = CompressedFile::assemble(&file.header, &zeros(1 << 30));
        let err = CompressedFile::from_bytes_within(&bytes, Path::new("x"), u64::MAX)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a valid compressed file: payload"),
            "{err}"
        );
        // and a payload that is too short is refused too
        let bytes = CompressedFile::assemble(&file.header, &zeros(10));
        let err = CompressedFile::from_bytes_within(&bytes, Path::new("x"), u64::MAX)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("holds 10 bytes, the header announces 12"),
            "{err}"
        );
    }

    #[test]
    fn large_payloads_round_trip_at_every_level() {
        let rows = 40_000;
        let mut file = sample(LatentPrecision::F32);
        file.header.shape = vec![rows, 2];
        file.header.latent_size = 3;
        file.latent = (0..rows * 3)
            .map(|i| ((i * 7919) % 10007) as f32 / 13.0)
            .collect();
        for level in [-5, 1, 3, 19, 22] {
            let bytes = file.to_bytes(level);
            assert_eq!(
                CompressedFile::from_bytes_within(&bytes, Path::new("x"), u64::MAX).unwrap(),
                file,
                "level {level}"
            );
        }
    }

    #[test]
    fn byte_counts_parse_with_binary_suffixes() {
        assert_eq!(parse_byte_count("123"), Some(123));
        assert_eq!(parse_byte_count(" 8G "), Some(8 << 30));
        assert_eq!(parse_byte_count("512m"), Some(512 << 20));
        assert_eq!(parse_byte_count("1T"), Some(1 << 40));
        assert_eq!(parse_byte_count("4K"), Some(4096));
        for bad in ["", "G", "-1", "1.5G", "8GB", "99999999999T", "0x10"] {
            assert_eq!(parse_byte_count(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_an_error() {
        let bytes = sample(LatentPrecision::F32).to_bytes(3);
        for n in 0..bytes.len() {
            assert!(
                CompressedFile::from_bytes(&bytes[..n], Path::new("x")).is_err(),
                "prefix {n}"
            );
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(
                CompressedFile::from_bytes(&b, Path::new("x")).is_err(),
                "byte {i}"
            );
        }
    }
}
