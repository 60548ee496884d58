//! Frames on the wire: `COBS(command | sequence number | payload | CRC-32) 0x00`. The zero byte ends every frame,
//! so a reader finds the next frame after any garbage; the CRC-32 (IEEE) over the command, sequence number and
//! payload rejects a damaged one. A reader holds at most [`MAX_WIRE`] bytes and discards a longer frame whole.

/// The largest payload of a frame, in bytes.
pub const MAX_PAYLOAD: usize = 4096;
/// The largest frame before COBS: command (1), sequence number (2), payload, CRC-32 (4).
pub const MAX_BODY: usize = 3 + MAX_PAYLOAD + 4;
/// The largest frame on the wire: COBS adds at most one byte per 254 and one more; then the zero byte.
pub const MAX_WIRE: usize = cobs::max_encoding_length(MAX_BODY) + 1;
/// The smallest frame before COBS: command, sequence number and CRC-32.
const MIN_BODY: usize = 3 + 4;

/// A frame: a command byte, a sequence number that its reply repeats, and a payload of at most [`MAX_PAYLOAD`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// What is asked, or answered (see [`command`](super::command)).
    pub command: u8,
    /// Chosen by the sender of a request; repeated in its reply.
    pub seq: u16,
    /// The message.
    pub payload: &'a [u8],
}

/// Why bytes up to a zero byte were not a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// More than [`MAX_WIRE`] bytes before the zero byte (all discarded); or, when writing, a payload longer than
    /// [`MAX_PAYLOAD`] or an output shorter than the frame.
    TooLong,
    /// Not valid COBS.
    Cobs,
    /// Fewer bytes than a command, sequence number and CRC-32.
    Short,
    /// The CRC-32 does not match: the frame was damaged on the way.
    Crc,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FrameError::TooLong => "frame longer than the protocol allows",
            FrameError::Cobs => "frame is not valid COBS",
            FrameError::Short => "frame too short to hold a command, sequence number and CRC-32",
            FrameError::Crc => "CRC-32 mismatch: the frame was damaged",
        })
    }
}

/// CRC-32 (ISO-HDLC, as zlib's): its table is 1 KiB, which matters in a soft core's memory.
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

impl Frame<'_> {
    /// Writes the frame as it goes on the wire, its zero byte included, into `out`; returns the bytes written.
    /// `out` of [`MAX_WIRE`] bytes holds any frame.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, FrameError> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(FrameError::TooLong);
        }
        let head = [self.command, self.seq as u8, (self.seq >> 8) as u8];
        let mut crc = CRC.digest();
        crc.update(&head);
        crc.update(self.payload);
        let crc = crc.finalize().to_le_bytes();
        let mut encoder = cobs::CobsEncoder::new(out);
        for part in [&head[..], self.payload, &crc] {
            encoder.push(part).map_err(|_| FrameError::TooLong)?;
        }
        let n = encoder.finalize();
        *out.get_mut(n).ok_or(FrameError::TooLong)? = 0;
        Ok(n + 1)
    }
}

/// Reads frames from a byte stream, one byte at a time, in a buffer of [`MAX_WIRE`] bytes.
pub struct FrameReader {
    wire: [u8; MAX_WIRE],
    len: usize,
    /// The frame being received outgrew the buffer: its bytes are dropped up to its zero byte.
    discarding: bool,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub const fn new() -> Self {
        FrameReader {
            wire: [0; MAX_WIRE],
            len: 0,
            discarding: false,
        }
    }

    /// Takes the next byte: at a zero byte, the frame it ends (or why it is not one); else `None`. Zero bytes with
    /// nothing before them (idle line, or the end of a frame already reported) give `None`.
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame<'_>, FrameError>> {
        if byte != 0 {
            if self.len == MAX_WIRE {
                self.discarding = true;
                self.len = 0;
            }
            if !self.discarding {
                self.wire[self.len] = byte;
                self.len += 1;
            }
            return None;
        }
        let (len, discarded) = (self.len, self.discarding);
        self.len = 0;
        self.discarding = false;
        if discarded {
            return Some(Err(FrameError::TooLong));
        }
        if len == 0 {
            return None;
        }
        Some(parse(&mut self.wire[..len]))
    }
}

/// The frame in `wire` (COBS without its zero byte), decoded in place.
fn parse(wire: &mut [u8]) -> Result<Frame<'_>, FrameError> {
    let n = cobs::decode_in_place(wire).map_err(|_| FrameError::Cobs)?;
    let body = &wire[..n];
    if n < MIN_BODY {
        return Err(FrameError::Short);
    }
    let (message, crc) = body.split_at(n - 4);
    if CRC.checksum(message).to_le_bytes() != crc {
        return Err(FrameError::Crc);
    }
    Ok(Frame {
        command: message[0],
        seq: u16::from_le_bytes([message[1], message[2]]),
        payload: &message[3..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn wire(frame: &Frame) -> Vec<u8> {
        let mut out = vec![0u8; MAX_WIRE];
        let n = frame.write(&mut out).unwrap();
        out.truncate(n);
        out
    }

    /// A frame read: command, sequence number, payload.
    type Read = (u8, u16, Vec<u8>);

    /// Every frame the bytes end, or why not.
    fn read(reader: &mut FrameReader, bytes: &[u8]) -> Vec<Result<Read, FrameError>> {
        bytes
            .iter()
            .filter_map(|&b| {
                reader
                    .push(b)
                    .map(|r| r.map(|f| (f.command, f.seq, f.payload.to_vec())))
            })
            .collect()
    }

    #[test]
    fn frames_of_any_payload_read_back_after_garbage() {
        let mut reader = FrameReader::new();
        for len in [0, 1, 253, 254, 255, 1000, MAX_PAYLOAD] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 7) as u8).collect();
            let frame = Frame {
                command: 0x83,
                seq: 0xBEEF,
                payload: &payload,
            };
            let bytes = wire(&frame);
            assert!(bytes.len() <= MAX_WIRE);
            assert_eq!(bytes.iter().filter(|&&b| b == 0).count(), 1);
            // garbage without a zero byte first joins the frame and fails it; after a zero byte, the frame reads
            let mut stream = vec![0x55, 0x13, 0x00];
            stream.extend(&bytes);
            let read = read(&mut reader, &stream);
            assert_eq!(read.len(), 2);
            assert!(read[0].is_err());
            assert_eq!(read[1], Ok((0x83, 0xBEEF, payload)));
        }
        let long = vec![1u8; MAX_PAYLOAD + 1];
        let frame = Frame {
            command: 1,
            seq: 0,
            payload: &long,
        };
        assert_eq!(frame.write(&mut [0u8; MAX_WIRE]), Err(FrameError::TooLong));
        assert_eq!(
            Frame {
                payload: &[],
                ..frame
            }
            .write(&mut [0u8; 4]),
            Err(FrameError::TooLong)
        );
    }

    #[test]
    fn damage_is_detected_and_the_next_frame_still_reads() {
        let payload = [9u8, 0, 8, 0, 7];
        let good = wire(&Frame {
            command: 3,
            seq: 7,
            payload: &payload,
        });
        let mut reader = FrameReader::new();
        // every single bit flipped in a frame: rejected (or split at a new zero byte), never accepted as changed
        for bit in 0..(good.len() - 1) * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            bad.extend(&good);
            let read = read(&mut reader, &bad);
            assert!(
                read[..read.len() - 1].iter().all(Result::is_err),
                "bit {bit}: {read:?}"
            );
            assert_eq!(read.last().unwrap(), &Ok((3, 7, payload.to_vec())));
        }
        // too short, and too long: the long one is dropped whole and the reader recovers
        assert_eq!(read(&mut reader, &[2, 1, 0]), [Err(FrameError::Short)]);
        let mut flood = vec![0x42u8; MAX_WIRE + 10];
        flood.push(0);
        flood.extend(&good);
        let read = read(&mut reader, &flood);
        assert_eq!(read[0], Err(FrameError::TooLong));
        assert_eq!(read[1], Ok((3, 7, payload.to_vec())));
        // idle zero bytes are not frames
        assert!(read_is_empty(&mut reader, &[0, 0, 0]));
    }

    fn read_is_empty(reader: &mut FrameReader, bytes: &[u8]) -> bool {
        read(reader, bytes).is_empty()
    }
}
