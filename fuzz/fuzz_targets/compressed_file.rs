//! Fuzzes the compressed-file reader: any bytes must give a file or an error, never a panic, a hang
//! or an allocation the header merely claims. Each input is read as is, and again with its trailing
//! CRC-32 made valid, so that mutations also reach the header and payload parsers behind the checksum.
#![no_main]

use baler::container::CompressedFile;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// The memory budget of the fuzzed reader: well under libFuzzer's default 2 GB limit, so that a payload
/// that inflates within a larger budget is not reported as a leak or out-of-memory.
const BUDGET: u64 = 64 << 20;

fn read(bytes: &[u8]) {
    if let Ok(file) = CompressedFile::from_bytes_within(bytes, Path::new("fuzz.baler"), BUDGET) {
        assert_eq!(
            file.latent.len(),
            file.header.rows() * file.header.latent_size
        );
        assert!(file.header.decoded_bytes().is_some_and(|n| n <= BUDGET));
    }
}

fuzz_target!(|bytes: &[u8]| {
    read(bytes);
    if bytes.len() >= 4 {
        let mut fixed = bytes.to_vec();
        let body = fixed.len() - 4;
        let crc = crc32fast::hash(&fixed[..body]);
        fixed[body..].copy_from_slice(&crc.to_le_bytes());
        read(&fixed);
    }
});
