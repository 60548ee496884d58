//! Fuzzes the serial frame protocol both sides run (`baler_core::protocol`): any byte stream must give frames or
//! errors, never a panic or an allocation; every frame read must write back to bytes that read as the same frame,
//! and every payload must parse as each message or be refused.
#![no_main]

use baler_core::protocol::{Codes, ErrorReply, Frame, FrameReader, Info, MAX_WIRE, Stats};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut reader = FrameReader::new();
    let mut again = FrameReader::new();
    let mut wire = [0u8; MAX_WIRE];
    for &byte in bytes {
        let Some(Ok(frame)) = reader.push(byte) else {
            continue;
        };
        let _ = Info::parse(frame.payload);
        let _ = Stats::parse(frame.payload);
        let _ = ErrorReply::parse(frame.payload);
        for (values, width) in [(1, 1), (9, 2), (5, 4), (3, 8)] {
            if let Ok(codes) = Codes::parse(frame.payload, values, width) {
                assert_eq!(codes.iter().count(), codes.frames * values);
            }
        }
        let n = frame.write(&mut wire).expect("a frame read fits the wire buffer");
        let (last, head) = wire[..n].split_last().expect("at least the zero byte");
        assert!(head.iter().all(|&b| again.push(b).is_none()));
        let read: Frame = again.push(*last).expect("a zero byte ends it").expect("it reads back");
        assert_eq!(read, frame);
    }
});
