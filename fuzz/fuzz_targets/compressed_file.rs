//! Fuzzes the compressed-file readers, plain and chunked: any bytes must give a file or an error, never a panic, a
//! hang or an allocation the header or the chunk index merely claims. Each input is read as is, and again with its
//! trailing CRC-32 made valid, so that mutations also reach the header and payload parsers behind the checksum; a
//! file that needs no model is also restored.
#![no_main]

use baler::codec;
use baler::container::{CompressedFile, CompressedSource};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// The memory budget of the fuzzed reader: well under libFuzzer's default 2 GB limit, so that a payload
/// that inflates within a larger budget is not reported as a leak or out-of-memory.
const BUDGET: u64 = 64 << 20;

/// Through the chunk index, every chunk read and checked.
fn read_chunks(bytes: &[u8]) {
    let path = Path::new("fuzz.baler");
    if let Ok(mut source) = CompressedSource::from_reader(std::io::Cursor::new(bytes), path, BUDGET) {
        let rows: usize = source.chunks.iter().map(|c| c.rows).sum();
        assert_eq!(rows, source.header.rows());
        for chunk in source.chunks.clone() {
            if let Ok(file) = source.read(chunk) {
                assert_eq!(file.header.rows(), chunk.rows);
            }
        }
    }
}

fn read(bytes: &[u8]) {
    read_chunks(bytes);
    if let Ok(file) = CompressedFile::from_bytes_within(bytes, Path::new("fuzz.baler"), BUDGET) {
        assert_eq!(
            file.latent.len(),
            file.header.rows() * file.header.latent_size
        );
        assert!(file.header.decoded_bytes().is_some_and(|n| n <= BUDGET));
        // a file that needs no model is restored from its own bytes, or its damage is an error
        if !codec::needs_model(&file.header)
            && let Ok(data) = codec::restore_without_model(&file, Path::new("fuzz.baler"))
        {
            assert_eq!(data.values.len() as u64, file.header.data_values().unwrap());
        }
    }
}

/// A chunked file with the CRC-32 of its header and index made valid, where the trailer locates them.
fn with_valid_index_crc(bytes: &[u8]) -> Option<Vec<u8>> {
    let len = bytes.len();
    if len < 42 || !bytes.ends_with(b"BALERIDX") {
        return None;
    }
    let header_end = 14 + u32::from_le_bytes(bytes[10..14].try_into().ok()?) as usize;
    let index = usize::try_from(u64::from_le_bytes(bytes[len - 28..len - 20].try_into().ok()?)).ok()?;
    if header_end > len - 28 || index > len - 28 {
        return None;
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[..header_end]);
    hasher.update(&bytes[index..len - 28]);
    let mut fixed = bytes.to_vec();
    fixed[len - 12..len - 8].copy_from_slice(&hasher.finalize().to_le_bytes());
    Some(fixed)
}

fuzz_target!(|bytes: &[u8]| {
    if let Some(fixed) = with_valid_index_crc(bytes) {
        read_chunks(&fixed);
    }
    read(bytes);
    if bytes.len() >= 4 {
        let mut fixed = bytes.to_vec();
        let body = fixed.len() - 4;
        let crc = crc32fast::hash(&fixed[..body]);
        fixed[body..].copy_from_slice(&crc.to_le_bytes());
        read(&fixed);
    }
});
