//! The compressed file (`.baler`): magic, version, a JSON header (shape, dtype, variable names, model id,
//! latent size and precision), the zstd-compressed latent payload and a CRC-32. See docs/format.md.

use crate::config::LatentPrecision;
use crate::data::{DataKind, FloatType};
use crate::error::{Error, Result};
use half::f16;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

/// First eight bytes of every compressed file.
pub const MAGIC: [u8; 8] = *b"\x89BALER\r\n";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
const MAX_HEADER: usize = 1 << 20;
const MAX_LATENT_BYTES: u64 = 1 << 36;

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
}

impl Header {
    /// Number of samples.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    fn latent_bytes(&self) -> Option<u64> {
        (self.rows() as u64)
            .checked_mul(self.latent_size as u64)?
            .checked_mul(self.latent_precision.size() as u64)
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
                "header shape {:?} does not fit kind {:?} and {} names",
                self.shape,
                self.kind,
                self.names.len()
            ));
        }
        if self.rows() == 0 || self.latent_size == 0 {
            return Err("header describes empty data".into());
        }
        match self.latent_bytes() {
            Some(n) if n <= MAX_LATENT_BYTES => Ok(()),
            _ => Err("header announces an implausibly large latent payload".into()),
        }
    }
}

/// A compressed file in memory: header and the latent values (rows × latent_size, row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct CompressedFile {
    /// Description of the data.
    pub header: Header,
    /// Latent values, already rounded to the header's precision.
    pub latent: Vec<f32>,
}

impl CompressedFile {
    /// Encodes to bytes with the given zstd level.
    pub fn to_bytes(&self, zstd_level: i32) -> Vec<u8> {
        let raw: Vec<u8> = match self.header.latent_precision {
            LatentPrecision::F32 => self.latent.iter().flat_map(|v| v.to_le_bytes()).collect(),
            LatentPrecision::F16 => self
                .latent
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect(),
        };
        let payload = zstd::bulk::compress(&raw, zstd_level).expect("zstd compresses in memory");
        let header = serde_json::to_vec(&self.header).expect("header serialises");
        let mut out = MAGIC.to_vec();
        out.extend(VERSION.to_le_bytes());
        out.extend((header.len() as u32).to_le_bytes());
        out.extend(&header);
        out.extend((payload.len() as u64).to_le_bytes());
        out.extend(&payload);
        out.extend(crc32fast::hash(&out).to_le_bytes());
        out
    }

    /// Parses and checks bytes; `path` names the file in errors. Never panics on any input.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |m: &str| Error::malformed(path, format!("not a valid compressed file: {m}"));
        let mut cursor = Cursor { bytes, at: 0 };
        if cursor.take(8).ok_or_else(|| bad("too short"))? != MAGIC {
            return Err(bad("wrong magic number (is this a .baler file?)"));
        }
        let version = u16::from_le_bytes(cursor.array().ok_or_else(|| bad("truncated"))?);
        if version != VERSION {
            return Err(bad(&format!(
                "format version {version}; this build reads version {VERSION}"
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
        let payload_len = u64::from_le_bytes(cursor.array().ok_or_else(|| bad("truncated"))?);
        let payload = usize::try_from(payload_len)
            .ok()
            .and_then(|n| cursor.take(n))
            .ok_or_else(|| bad("truncated payload"))?;
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
        let expected = header.latent_bytes().expect("checked") as usize;
        // stream rather than trust the header with an up-front allocation
        let mut raw = Vec::new();
        zstd::stream::Decoder::new(payload)
            .and_then(|d| d.take(expected as u64 + 1).read_to_end(&mut raw))
            .map_err(|e| bad(&format!("payload: {e}")))?;
        if raw.len() != expected {
            return Err(bad(&format!(
                "payload holds {} bytes, the header announces {expected}",
                raw.len()
            )));
        }
        let latent = match header.latent_precision {
            LatentPrecision::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            LatentPrecision::F16 => raw
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes(c.try_into().unwrap()).to_f32())
                .collect(),
        };
        Ok(CompressedFile { header, latent })
    }

    /// Reads a compressed file from disk.
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_bytes(&crate::fsutil::read_bytes(path)?, path)
    }
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
            },
            latent: vec![0.5, -1.25, 3.0],
        }
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
