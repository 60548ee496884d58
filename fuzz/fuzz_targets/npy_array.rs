//! Fuzzes the `.npy` parser used for every data file and `.npz` member.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = baler::data::npy::parse(bytes, std::path::Path::new("fuzz.npy"), "data");
});
