//! Fuzzes the compressed-file reader: any bytes must give a file or an error, never a panic, a hang
//! or an allocation the header merely claims.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(file) = baler::format::CompressedFile::from_bytes(bytes, std::path::Path::new("fuzz.baler")) {
        assert_eq!(file.latent.len(), file.header.rows() * file.header.latent_size);
    }
});
