//! Fuzzes the firmware's model image reader (`baler_core::engine::Image`): any bytes must be refused or give
//! networks that run a frame without panicking, with no heap.
#![no_main]

use baler_core::engine::{Image, Scratch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(image) = Image::parse(bytes) else {
        return;
    };
    let mut scratch = Scratch::default();
    for network in [image.encoder, image.decoder].into_iter().flatten() {
        let input = (0..network.inputs as i64).map(|i| i - 3);
        assert_eq!(network.run(input, &mut scratch).len(), network.outputs());
    }
});
