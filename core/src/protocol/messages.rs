//! The payloads frames carry: the board's [`Info`], its counters ([`Stats`]), batches of fixed-point codes
//! ([`Codes`]) and [`ErrorReply`]. All integers are little-endian; every parser checks every length against the
//! bytes present and the protocol's limits, and returns the message without copying or allocating.

use super::frame::MAX_PAYLOAD;
use crate::ModelId;

/// Why a payload is not the message its command announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Shorter or longer than the message.
    Length,
    /// A field out of its range (a code width of 0 or above 8 bytes, a count of 0, a name not UTF-8).
    Field,
}

impl core::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PayloadError::Length => "payload length does not fit its message",
            PayloadError::Field => "payload field out of range",
        })
    }
}

/// The longest board name in [`Info`], in bytes.
pub const MAX_NAME: usize = 32;

/// What a board runs: sent in reply to HELLO and INFO, and unasked at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info<'a> {
    /// The protocol version the board speaks.
    pub version: u8,
    /// The model whose networks it runs.
    pub model_id: ModelId,
    /// Values per input frame (the encoder's inputs, the decoder's outputs).
    pub inputs: u16,
    /// Values per latent frame.
    pub latent: u16,
    /// Bytes per code of the encoder's input, of the latent, of the decoder's output (1 to 8 each; 0 for a network
    /// the board does not run).
    pub code_bytes: [u8; 3],
    /// The largest payload it reads.
    pub max_payload: u16,
    /// What runs the networks: 0 the firmware's software engine, 1 the HLS IP core.
    pub engine: u8,
    /// The board, in words (at most [`MAX_NAME`] bytes of UTF-8).
    pub name: &'a str,
}

impl<'a> Info<'a> {
    /// Bytes before the name.
    const FIXED: usize = 1 + 16 + 2 + 2 + 3 + 2 + 1 + 1;

    /// Writes the payload into `out` (at least `FIXED` + [`MAX_NAME`] bytes); returns its length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, PayloadError> {
        let name = self.name.as_bytes();
        let n = Self::FIXED + name.len();
        if name.len() > MAX_NAME {
            return Err(PayloadError::Field);
        }
        let out = out.get_mut(..n).ok_or(PayloadError::Length)?;
        out[0] = self.version;
        out[1..17].copy_from_slice(&self.model_id.0);
        out[17..19].copy_from_slice(&self.inputs.to_le_bytes());
        out[19..21].copy_from_slice(&self.latent.to_le_bytes());
        out[21..24].copy_from_slice(&self.code_bytes);
        out[24..26].copy_from_slice(&self.max_payload.to_le_bytes());
        out[26] = self.engine;
        out[27] = name.len() as u8;
        out[Self::FIXED..].copy_from_slice(name);
        Ok(n)
    }

    /// Reads the payload.
    pub fn parse(payload: &'a [u8]) -> Result<Self, PayloadError> {
        let fixed = payload.get(..Self::FIXED).ok_or(PayloadError::Length)?;
        let name = &payload[Self::FIXED..];
        if name.len() != usize::from(fixed[27]) || name.len() > MAX_NAME {
            return Err(PayloadError::Length);
        }
        let code_bytes = [fixed[21], fixed[22], fixed[23]];
        if code_bytes.iter().any(|&b| b > 8) {
            return Err(PayloadError::Field);
        }
        Ok(Info {
            version: fixed[0],
            model_id: ModelId(fixed[1..17].try_into().expect("16 bytes")),
            inputs: u16::from_le_bytes([fixed[17], fixed[18]]),
            latent: u16::from_le_bytes([fixed[19], fixed[20]]),
            code_bytes,
            max_payload: u16::from_le_bytes([fixed[24], fixed[25]]),
            engine: fixed[26],
            name: core::str::from_utf8(name).map_err(|_| PayloadError::Field)?,
        })
    }
}

/// A board's counters since boot or RESET, in the reply to STATS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames read and answered.
    pub frames: u32,
    /// Frames refused for their CRC-32.
    pub crc_errors: u32,
    /// Byte runs that were not frames: bad COBS, too short, too long.
    pub framing_errors: u32,
    /// Requests refused (unknown command, bad payload, no HELLO yet).
    pub refused: u32,
    /// Input frames encoded.
    pub encoded: u32,
    /// Latent frames decoded.
    pub decoded: u32,
}

impl Stats {
    /// Bytes of the payload.
    pub const LEN: usize = 6 * 4;

    /// The payload.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        let fields = [
            self.frames,
            self.crc_errors,
            self.framing_errors,
            self.refused,
            self.encoded,
            self.decoded,
        ];
        for (chunk, field) in out.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        out
    }

    /// Reads the payload.
    pub fn parse(payload: &[u8]) -> Result<Self, PayloadError> {
        if payload.len() != Self::LEN {
            return Err(PayloadError::Length);
        }
        let field =
            |i: usize| u32::from_le_bytes(payload[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        Ok(Stats {
            frames: field(0),
            crc_errors: field(1),
            framing_errors: field(2),
            refused: field(3),
            encoded: field(4),
            decoded: field(5),
        })
    }
}

/// Why a board refused a request, in an ERROR frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// A frame arrived damaged (its sequence number is unknown: the reply's is 0xFFFF).
    Crc = 1,
    /// Bytes that were not a frame (sequence number 0xFFFF).
    Framing = 2,
    /// A command the board does not know.
    UnknownCommand = 3,
    /// A payload that is not its command's message.
    BadPayload = 4,
    /// HELLO with another protocol version or model id than the board's.
    Mismatch = 5,
    /// ENCODE or DECODE before a successful HELLO.
    NoSession = 6,
    /// The accelerator failed or did not answer.
    Accelerator = 7,
    /// A network the board does not run (DECODE on an encoder-only board).
    Unsupported = 8,
}

impl ErrorCode {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => ErrorCode::Crc,
            2 => ErrorCode::Framing,
            3 => ErrorCode::UnknownCommand,
            4 => ErrorCode::BadPayload,
            5 => ErrorCode::Mismatch,
            6 => ErrorCode::NoSession,
            7 => ErrorCode::Accelerator,
            8 => ErrorCode::Unsupported,
            _ => return None,
        })
    }
}

/// The longest detail of an [`ErrorReply`], in bytes.
pub const MAX_DETAIL: usize = 64;

/// An ERROR frame's payload: the code, the command refused, and a detail in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorReply<'a> {
    /// Why.
    pub code: ErrorCode,
    /// The command of the request refused (0 when no frame could be read).
    pub command: u8,
    /// In words, at most [`MAX_DETAIL`] bytes of UTF-8.
    pub detail: &'a str,
}

impl<'a> ErrorReply<'a> {
    /// Writes the payload into `out`, the detail cut to [`MAX_DETAIL`] bytes at a character boundary; returns its
    /// length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, PayloadError> {
        let mut end = self.detail.len().min(MAX_DETAIL);
        while !self.detail.is_char_boundary(end) {
            end -= 1;
        }
        let detail = &self.detail.as_bytes()[..end];
        let out = out
            .get_mut(..2 + detail.len())
            .ok_or(PayloadError::Length)?;
        out[0] = self.code as u8;
        out[1] = self.command;
        out[2..].copy_from_slice(detail);
        Ok(out.len())
    }

    /// Reads the payload.
    pub fn parse(payload: &'a [u8]) -> Result<Self, PayloadError> {
        let [code, command, detail @ ..] = payload else {
            return Err(PayloadError::Length);
        };
        if detail.len() > MAX_DETAIL {
            return Err(PayloadError::Length);
        }
        Ok(ErrorReply {
            code: ErrorCode::from_byte(*code).ok_or(PayloadError::Field)?,
            command: *command,
            detail: core::str::from_utf8(detail).map_err(|_| PayloadError::Field)?,
        })
    }
}

/// A batch of frames of fixed-point codes (ENCODE and DECODE requests and replies): the number of frames (`u16`),
/// then each frame's values, each code in `width` bytes of two's complement, little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codes<'a> {
    /// Frames in the batch (at least 1).
    pub frames: usize,
    /// Values per frame.
    pub values: usize,
    /// Bytes per code, 1 to 8.
    pub width: usize,
    bytes: &'a [u8],
}

impl<'a> Codes<'a> {
    /// The most frames of `values` codes of `width` bytes one payload holds.
    pub fn capacity(values: usize, width: usize) -> usize {
        (MAX_PAYLOAD - 2) / (values * width).max(1)
    }

    /// Reads a batch whose frames hold `values` codes of `width` bytes each.
    pub fn parse(payload: &'a [u8], values: usize, width: usize) -> Result<Self, PayloadError> {
        if !(1..=8).contains(&width) || values == 0 {
            return Err(PayloadError::Field);
        }
        let [lo, hi, bytes @ ..] = payload else {
            return Err(PayloadError::Length);
        };
        let frames = usize::from(u16::from_le_bytes([*lo, *hi]));
        if frames == 0 {
            return Err(PayloadError::Field);
        }
        let expected = frames
            .checked_mul(values)
            .and_then(|n| n.checked_mul(width));
        if expected != Some(bytes.len()) {
            return Err(PayloadError::Length);
        }
        Ok(Codes {
            frames,
            values,
            width,
            bytes,
        })
    }

    /// The codes, frame after frame, sign-extended.
    pub fn iter(&self) -> impl Iterator<Item = i64> + 'a {
        let width = self.width;
        self.bytes.chunks_exact(width).map(move |code| {
            let mut word = [0u8; 8];
            word[..width].copy_from_slice(code);
            let shift = 64 - 8 * width as u32;
            (i64::from_le_bytes(word) << shift) >> shift
        })
    }

    /// Writes a batch of `frames` frames of `values` codes each from `codes` (frame after frame) into `out`, each
    /// code in `width` bytes; returns the payload's length. A code that does not fit `width` bytes, or another
    /// number of codes, is an error.
    pub fn write(
        codes: impl IntoIterator<Item = i64>,
        frames: usize,
        values: usize,
        width: usize,
        out: &mut [u8],
    ) -> Result<usize, PayloadError> {
        let mut writer = CodesWriter::new(out, frames, values, width)?;
        for code in codes {
            writer.push(code)?;
        }
        writer.finish()
    }
}

/// Writes a [`Codes`] payload a code at a time, for codes computed frame by frame.
pub struct CodesWriter<'a> {
    out: &'a mut [u8],
    at: usize,
    end: usize,
    width: usize,
}

impl<'a> CodesWriter<'a> {
    /// A batch of `frames` frames of `values` codes of `width` bytes in `out`, which must hold it all.
    pub fn new(
        out: &'a mut [u8],
        frames: usize,
        values: usize,
        width: usize,
    ) -> Result<Self, PayloadError> {
        if !(1..=8).contains(&width) || frames == 0 || frames > usize::from(u16::MAX) || values == 0
        {
            return Err(PayloadError::Field);
        }
        let end = frames
            .checked_mul(values)
            .and_then(|n| n.checked_mul(width))
            .and_then(|n| n.checked_add(2))
            .filter(|&end| end <= out.len())
            .ok_or(PayloadError::Length)?;
        out[..2].copy_from_slice(&(frames as u16).to_le_bytes());
        Ok(CodesWriter {
            out,
            at: 2,
            end,
            width,
        })
    }

    /// Appends the next code; one that does not fit the width, or one more than the batch holds, is an error.
    pub fn push(&mut self, code: i64) -> Result<(), PayloadError> {
        let shift = 64 - 8 * self.width as u32;
        if (code << shift) >> shift != code {
            return Err(PayloadError::Field);
        }
        if self.at + self.width > self.end {
            return Err(PayloadError::Length);
        }
        self.out[self.at..self.at + self.width].copy_from_slice(&code.to_le_bytes()[..self.width]);
        self.at += self.width;
        Ok(())
    }

    /// The payload's length, once every code is written.
    pub fn finish(self) -> Result<usize, PayloadError> {
        match self.at == self.end {
            true => Ok(self.end),
            false => Err(PayloadError::Length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn messages_read_back_and_refuse_wrong_lengths() {
        let info = Info {
            version: 1,
            model_id: ModelId([7; 16]),
            inputs: 9,
            latent: 5,
            code_bytes: [2, 2, 0],
            max_payload: MAX_PAYLOAD as u16,
            engine: 0,
            name: "qemu-virt riscv32imac",
        };
        let mut out = [0u8; 128];
        let n = info.write(&mut out).unwrap();
        assert_eq!(Info::parse(&out[..n]), Ok(info));
        assert_eq!(Info::parse(&out[..n - 1]), Err(PayloadError::Length));
        assert_eq!(Info::parse(&out[..10]), Err(PayloadError::Length));
        let long = Info {
            name: "a board name that is longer than thirty-two bytes",
            ..info
        };
        assert_eq!(long.write(&mut out), Err(PayloadError::Field));

        let stats = Stats {
            frames: 1,
            crc_errors: 2,
            framing_errors: 3,
            refused: 4,
            encoded: 5,
            decoded: u32::MAX,
        };
        assert_eq!(Stats::parse(&stats.to_bytes()), Ok(stats));
        assert_eq!(Stats::parse(&[0; 23]), Err(PayloadError::Length));

        let error = ErrorReply {
            code: ErrorCode::Mismatch,
            command: 1,
            detail: "model 0707… expected, this board runs 0808…",
        };
        let n = error.write(&mut out).unwrap();
        assert_eq!(ErrorReply::parse(&out[..n]), Ok(error));
        assert_eq!(ErrorReply::parse(&[99, 1]), Err(PayloadError::Field));
        // a long detail is cut at a character boundary
        let long = "é".repeat(40);
        let n = ErrorReply {
            detail: &long,
            ..error
        }
        .write(&mut out)
        .unwrap();
        assert_eq!(ErrorReply::parse(&out[..n]).unwrap().detail, "é".repeat(32));
    }

    #[test]
    fn codes_of_every_width_read_back_sign_extended() {
        for width in 1..=8usize {
            let max = if width == 8 {
                i64::MAX
            } else {
                (1i64 << (8 * width - 1)) - 1
            };
            let codes: Vec<i64> = [0, 1, -1, max, -max - 1, max / 3].to_vec();
            let mut out = [0u8; 64];
            let n = Codes::write(codes.iter().copied(), 2, 3, width, &mut out).unwrap();
            assert_eq!(n, 2 + 6 * width);
            let read = Codes::parse(&out[..n], 3, width).unwrap();
            assert_eq!(read.frames, 2);
            assert_eq!(read.iter().collect::<Vec<_>>(), codes);
            // a count that does not match the bytes, and a code too wide for its width
            assert_eq!(Codes::parse(&out[..n], 2, width), Err(PayloadError::Length));
            if width < 8 {
                let too_wide = [max + 1];
                assert_eq!(
                    Codes::write(too_wide, 1, 1, width, &mut out),
                    Err(PayloadError::Field)
                );
            }
        }
        assert_eq!(
            Codes::write([1, 2], 1, 3, 2, &mut [0u8; 16]),
            Err(PayloadError::Length)
        );
        assert_eq!(Codes::parse(&[0, 0], 3, 2), Err(PayloadError::Field));
        assert_eq!(Codes::parse(&[1, 0, 5], 1, 9), Err(PayloadError::Field));
        assert_eq!(Codes::capacity(9, 2), 227);
    }
}
