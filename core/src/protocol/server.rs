//! The board's side of the protocol: reads frames a byte at a time, answers each request through an
//! [`Accelerator`] (the HLS IP core, or a software engine), refuses what it cannot answer with an ERROR frame, and
//! counts what went wrong. No heap: its buffers are fixed arrays, about 12 KiB in all.

use super::frame::{Frame, FrameError, FrameReader, MAX_PAYLOAD, MAX_WIRE};
use super::messages::{Codes, ErrorCode, ErrorReply, Info, Stats};
use super::{VERSION, command};

/// What runs the networks on a board.
pub trait Accelerator {
    /// What the board says about itself: its model, the networks it runs and their code widths, its name.
    fn info(&self) -> Info<'_>;

    /// Encodes `input` (frames of the encoder's input codes) into `out` as a [`Codes`] payload of latent codes;
    /// returns its length. `out` holds [`MAX_PAYLOAD`] bytes.
    fn encode(&mut self, input: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode>;

    /// Decodes `latent` (frames of latent codes) into `out` as a [`Codes`] payload of the decoder's output codes;
    /// returns its length.
    fn decode(&mut self, latent: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode>;

    /// Clears any state (RESET).
    fn reset(&mut self) {}
}

/// The frame server: feed it every byte received with [`Server::push`]; it sends the reply frames through `send`.
pub struct Server<A> {
    accelerator: A,
    reader: FrameReader,
    stats: Stats,
    /// A HELLO has been answered: ENCODE and DECODE are allowed.
    session: bool,
    reply: [u8; MAX_PAYLOAD],
    wire: [u8; MAX_WIRE],
}

impl<A: Accelerator> Server<A> {
    /// A server in front of `accelerator`, before its BOOT frame.
    pub fn new(accelerator: A) -> Self {
        Server {
            accelerator,
            reader: FrameReader::new(),
            stats: Stats::default(),
            session: false,
            reply: [0; MAX_PAYLOAD],
            wire: [0; MAX_WIRE],
        }
    }

    /// The counters since boot or RESET.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Sends the BOOT frame (at start-up: the host learns that the board was reset).
    pub fn boot(&mut self, send: &mut dyn FnMut(&[u8])) {
        let n = self
            .accelerator
            .info()
            .write(&mut self.reply)
            .expect("the info fits a payload");
        let frame = Frame {
            command: command::BOOT,
            seq: 0,
            payload: &self.reply[..n],
        };
        let n = frame.write(&mut self.wire).expect("fits the wire buffer");
        send(&self.wire[..n]);
    }

    /// Takes the next byte received; when it ends a frame, answers it through `send`.
    pub fn push(&mut self, byte: u8, send: &mut dyn FnMut(&[u8])) {
        let (reply_command, seq, n) = match self.reader.push(byte) {
            None => return,
            Some(Err(e)) => {
                let code = match e {
                    FrameError::Crc => {
                        self.stats.crc_errors += 1;
                        ErrorCode::Crc
                    }
                    _ => {
                        self.stats.framing_errors += 1;
                        ErrorCode::Framing
                    }
                };
                let n = error(&mut self.reply, code, 0, e_detail(e));
                (command::ERROR, 0xFFFF, n)
            }
            Some(Ok(frame)) => {
                let answer = answer(
                    &frame,
                    &mut self.accelerator,
                    &mut self.stats,
                    &mut self.session,
                    &mut self.reply,
                );
                match answer {
                    Ok(n) => {
                        self.stats.frames += 1;
                        (frame.command | command::REPLY, frame.seq, n)
                    }
                    Err((code, detail)) => {
                        self.stats.refused += 1;
                        let (request, seq) = (frame.command, frame.seq);
                        (
                            command::ERROR,
                            seq,
                            error(&mut self.reply, code, request, detail),
                        )
                    }
                }
            }
        };
        let frame = Frame {
            command: reply_command,
            seq,
            payload: &self.reply[..n],
        };
        let n = frame.write(&mut self.wire).expect("fits the wire buffer");
        send(&self.wire[..n]);
    }
}

fn e_detail(e: FrameError) -> &'static str {
    match e {
        FrameError::Crc => "CRC-32 mismatch",
        FrameError::Cobs => "not COBS",
        FrameError::Short => "frame too short",
        FrameError::TooLong => "frame too long",
    }
}

/// An ERROR payload in `out`; returns its length.
fn error(out: &mut [u8], code: ErrorCode, command: u8, detail: &str) -> usize {
    ErrorReply {
        code,
        command,
        detail,
    }
    .write(out)
    .expect("an error fits a payload")
}

/// The reply payload to `frame` in `out` and its length, or why it is refused.
fn answer<A: Accelerator>(
    frame: &Frame<'_>,
    accelerator: &mut A,
    stats: &mut Stats,
    session: &mut bool,
    out: &mut [u8],
) -> Result<usize, (ErrorCode, &'static str)> {
    let info = accelerator.info();
    let bad = |_| {
        (
            ErrorCode::BadPayload,
            "payload is not this command's message",
        )
    };
    match frame.command {
        command::HELLO => {
            let [version, id @ ..] = frame.payload else {
                return Err((
                    ErrorCode::BadPayload,
                    "HELLO holds a version and a model id",
                ));
            };
            if id.len() != 16 {
                return Err((
                    ErrorCode::BadPayload,
                    "HELLO holds a version and a model id",
                ));
            }
            if *version != VERSION {
                return Err((ErrorCode::Mismatch, "protocol version differs"));
            }
            if id.iter().any(|&b| b != 0) && *id != info.model_id.0 {
                return Err((ErrorCode::Mismatch, "this board runs another model"));
            }
            *session = true;
            Ok(info.write(out).expect("the info fits a payload"))
        }
        command::INFO => Ok(info.write(out).expect("the info fits a payload")),
        command::STATS => {
            out[..Stats::LEN].copy_from_slice(&stats.to_bytes());
            Ok(Stats::LEN)
        }
        command::RESET => {
            *stats = Stats::default();
            accelerator.reset();
            Ok(0)
        }
        command::ECHO => {
            out[..frame.payload.len()].copy_from_slice(frame.payload);
            Ok(frame.payload.len())
        }
        command::ENCODE | command::DECODE if !*session => {
            Err((ErrorCode::NoSession, "say HELLO first"))
        }
        command::ENCODE => {
            let (values, width) = (usize::from(info.inputs), usize::from(info.code_bytes[0]));
            if width == 0 {
                return Err((ErrorCode::Unsupported, "this board runs no encoder"));
            }
            let codes = Codes::parse(frame.payload, values, width).map_err(bad)?;
            let n = accelerator
                .encode(&codes, out)
                .map_err(|code| (code, "the encoder failed"))?;
            stats.encoded += codes.frames as u32;
            Ok(n)
        }
        command::DECODE => {
            let (values, width) = (usize::from(info.latent), usize::from(info.code_bytes[1]));
            if info.code_bytes[2] == 0 || width == 0 {
                return Err((ErrorCode::Unsupported, "this board runs no decoder"));
            }
            let codes = Codes::parse(frame.payload, values, width).map_err(bad)?;
            let n = accelerator
                .decode(&codes, out)
                .map_err(|code| (code, "the decoder failed"))?;
            stats.decoded += codes.frames as u32;
            Ok(n)
        }
        _ => Err((ErrorCode::UnknownCommand, "unknown command")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelId;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Encodes a frame of 3 input codes to 2 latent codes: their sum and difference; decodes back by halves.
    struct Toy;

    impl Accelerator for Toy {
        fn info(&self) -> Info<'_> {
            Info {
                version: VERSION,
                model_id: ModelId([3; 16]),
                inputs: 3,
                latent: 2,
                code_bytes: [2, 4, 2],
                max_payload: MAX_PAYLOAD as u16,
                engine: 0,
                name: "toy",
            }
        }

        fn encode(&mut self, input: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
            let codes: Vec<i64> = input.iter().collect();
            let latent = codes
                .chunks(3)
                .flat_map(|f| [f[0] + f[1] + f[2], f[0] - f[1]]);
            Codes::write(latent, input.frames, 2, 4, out).map_err(|_| ErrorCode::Accelerator)
        }

        fn decode(&mut self, latent: &Codes<'_>, out: &mut [u8]) -> Result<usize, ErrorCode> {
            let codes: Vec<i64> = latent.iter().collect();
            let data = codes.chunks(2).flat_map(|f| [f[0] / 2, f[1] / 2, 0]);
            Codes::write(data, latent.frames, 3, 2, out).map_err(|_| ErrorCode::Accelerator)
        }
    }

    /// The frames the server sends in answer to `request`.
    fn ask(
        server: &mut Server<Toy>,
        command: u8,
        seq: u16,
        payload: &[u8],
    ) -> Vec<(u8, u16, Vec<u8>)> {
        let mut wire = vec![0u8; MAX_WIRE];
        let n = Frame {
            command,
            seq,
            payload,
        }
        .write(&mut wire)
        .unwrap();
        let mut sent = Vec::new();
        for &b in &wire[..n] {
            server.push(b, &mut |bytes| sent.extend_from_slice(bytes));
        }
        let mut reader = FrameReader::new();
        sent.iter()
            .filter_map(|&b| {
                let f = reader.push(b)?.unwrap();
                Some((f.command, f.seq, f.payload.to_vec()))
            })
            .collect()
    }

    #[test]
    fn a_session_encodes_and_decodes_and_counts() {
        let mut server = Server::new(Toy);
        let mut boot = Vec::new();
        server.boot(&mut |b| boot.extend_from_slice(b));
        assert_eq!(boot.last(), Some(&0));
        // no ENCODE before HELLO; HELLO with another model is refused, with its own or any model accepted
        let mut input = [0u8; 64];
        let n = Codes::write([1, 2, 3, -4, 5, 6], 2, 3, 2, &mut input).unwrap();
        let refused = ask(&mut server, command::ENCODE, 9, &input[..n]);
        assert_eq!(refused[0].0, command::ERROR);
        assert_eq!(
            ErrorReply::parse(&refused[0].2).unwrap().code,
            ErrorCode::NoSession
        );
        let mut hello = vec![VERSION];
        hello.extend([4u8; 16]);
        let refused = ask(&mut server, command::HELLO, 1, &hello);
        assert_eq!(
            ErrorReply::parse(&refused[0].2).unwrap().code,
            ErrorCode::Mismatch
        );
        hello[1..].fill(3);
        let reply = ask(&mut server, command::HELLO, 2, &hello);
        assert_eq!((reply[0].0, reply[0].1), (0x81, 2));
        assert_eq!(Info::parse(&reply[0].2).unwrap().name, "toy");
        let reply = ask(&mut server, command::ENCODE, 10, &input[..n]);
        assert_eq!((reply[0].0, reply[0].1), (0x83, 10));
        let latent: Vec<i64> = Codes::parse(&reply[0].2, 2, 4).unwrap().iter().collect();
        assert_eq!(latent, [6, -1, 7, -9]);
        let reply = ask(&mut server, command::DECODE, 11, &reply[0].2);
        let data: Vec<i64> = Codes::parse(&reply[0].2, 3, 2).unwrap().iter().collect();
        assert_eq!(data, [3, 0, 0, 3, -4, 0]);
        // ECHO answers with the same payload, before a session too
        let reply = ask(&mut server, command::ECHO, 20, &[0, 1, 0, 2]);
        assert_eq!(
            reply[0],
            (command::ECHO | command::REPLY, 20, vec![0, 1, 0, 2])
        );
        // a payload of the wrong size, an unknown command, then the counters
        let reply = ask(&mut server, command::ENCODE, 12, &input[..n - 1]);
        assert_eq!(
            ErrorReply::parse(&reply[0].2).unwrap().code,
            ErrorCode::BadPayload
        );
        let reply = ask(&mut server, 0x33, 13, &[]);
        assert_eq!(ErrorReply::parse(&reply[0].2).unwrap().command, 0x33);
        let reply = ask(&mut server, command::STATS, 14, &[]);
        let stats = Stats::parse(&reply[0].2).unwrap();
        assert_eq!(
            (stats.frames, stats.refused, stats.encoded, stats.decoded),
            (4, 4, 2, 2)
        );
        // damage is counted and answered without a sequence number
        let mut sent = Vec::new();
        let mut wire = [0u8; 16];
        let n = cobs::try_encode(&[command::STATS, 1, 0, 9, 9, 9, 9], &mut wire).unwrap();
        for &b in wire[..n].iter().chain(&[0]) {
            server.push(b, &mut |bytes| sent.extend_from_slice(bytes));
        }
        assert!(!sent.is_empty());
        assert_eq!(server.stats().crc_errors, 1);
        // RESET clears the counters, then counts itself
        ask(&mut server, command::RESET, 15, &[]);
        assert_eq!(
            server.stats(),
            Stats {
                frames: 1,
                ..Stats::default()
            }
        );
    }
}
