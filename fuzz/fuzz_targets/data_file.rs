//! Fuzzes the whole data loader (`Dataset::from_bytes`, the code `Dataset::load` runs) on `.npy`, `.npz`
//! and `.csv` bytes: the first byte picks the format, the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|input: &[u8]| {
    let Some((&pick, bytes)) = input.split_first() else {
        return;
    };
    let path = match pick % 3 {
        0 => "fuzz.npy",
        1 => "fuzz.npz",
        _ => "fuzz.csv",
    };
    let _ = baler::data::Dataset::from_bytes(bytes, Path::new(path));
});
