//! The host's side of the serial protocol: a window of requests in flight over any byte [`Link`], each resent when
//! its reply is late, damaged or reported damaged by the board, duplicates dropped, a board reset noticed (its BOOT
//! frame) and answered with a new HELLO; replies delivered in request order, each exactly once.

use baler_core::ModelId;
use baler_core::protocol::{
    Codes, ErrorCode, ErrorReply, Frame, FrameReader, Info, MAX_PAYLOAD, MAX_WIRE, Stats, VERSION,
    command,
};
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// A byte link to a board: a serial port, a pseudo-terminal, or an emulated link.
pub trait Link: Send {
    /// Sends all of `bytes`.
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Receives what has arrived into `buf`, waiting at most `timeout` for the first byte; 0 bytes on timeout.
    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize>;
}

/// Why an exchange with a board failed.
#[derive(Debug)]
pub enum LinkError {
    /// The link itself failed.
    Io(std::io::Error),
    /// No reply to a request after every retry: the board stopped answering.
    NoAnswer {
        /// The request's command.
        command: u8,
        /// Times it was sent.
        attempts: u32,
    },
    /// The board refused a request.
    Refused {
        /// Why.
        code: ErrorCode,
        /// The refused request's command.
        command: u8,
        /// The board's words.
        detail: String,
    },
    /// A reply that is not its message.
    Protocol(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Io(e) => write!(f, "link: {e}"),
            LinkError::NoAnswer { command, attempts } => write!(
                f,
                "the board did not answer command 0x{command:02x} in {attempts} attempts: it stopped answering"
            ),
            LinkError::Refused {
                code,
                command,
                detail,
            } => write!(
                f,
                "the board refused command 0x{command:02x} ({code:?}): {detail}"
            ),
            LinkError::Protocol(m) => write!(f, "protocol: {m}"),
        }
    }
}

impl std::error::Error for LinkError {}

impl From<std::io::Error> for LinkError {
    fn from(e: std::io::Error) -> Self {
        LinkError::Io(e)
    }
}

/// The largest payload of a request or reply when [`ClientOptions::batch`] is not set: at most 1.3 % of the link
/// goes to framing, and a damaged frame costs little to send again.
pub const DEFAULT_PAYLOAD: usize = 1024;

/// How the client keeps the link busy and when it gives up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientOptions {
    /// Requests in flight at once.
    pub window: usize,
    /// How long a reply may take before its request is sent again.
    pub timeout: Duration,
    /// Times a request is sent at most.
    pub attempts: u32,
    /// Frames per request (0: as many as [`DEFAULT_PAYLOAD`] bytes hold, each way); smaller requests lose less to
    /// a noisy link.
    pub batch: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            window: 4,
            timeout: Duration::from_millis(500),
            attempts: 12,
            batch: 0,
        }
    }
}

/// What the link went through, counted by the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounters {
    /// Requests answered.
    pub requests: u64,
    /// Requests sent again (after a timeout, a damaged reply or a damage report).
    pub resent: u64,
    /// Replies that did not come in time.
    pub timeouts: u64,
    /// Byte runs received that were not frames (damaged on the way back).
    pub damaged_replies: u64,
    /// Requests the board reported damaged (its CRC or framing ERROR).
    pub damaged_requests: u64,
    /// Replies to requests already answered, dropped.
    pub duplicates: u64,
    /// Board resets noticed (BOOT frames in a session).
    pub boots: u64,
    /// Payload bytes delivered (requests and replies).
    pub payload_bytes: u64,
}

/// What the board said at HELLO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardInfo {
    /// The model it runs.
    pub model_id: ModelId,
    /// Values per data frame.
    pub inputs: usize,
    /// Values per latent frame.
    pub latent: usize,
    /// Bytes per code of the encoder's input, the latent and the decoder's output (0: not run).
    pub code_bytes: [usize; 3],
    /// Its largest payload.
    pub max_payload: usize,
    /// Its name.
    pub name: String,
}

impl From<Info<'_>> for BoardInfo {
    fn from(i: Info<'_>) -> Self {
        BoardInfo {
            model_id: i.model_id,
            inputs: usize::from(i.inputs),
            latent: usize::from(i.latent),
            code_bytes: i.code_bytes.map(usize::from),
            max_payload: usize::from(i.max_payload).min(MAX_PAYLOAD),
            name: i.name.to_string(),
        }
    }
}

/// A request in flight.
struct Pending {
    index: usize,
    seq: u16,
    sent: Instant,
    attempts: u32,
}

/// A session with a board.
pub struct Client<L> {
    link: L,
    reader: FrameReader,
    next_seq: u16,
    options: ClientOptions,
    model: ModelId,
    /// What the board said at the last HELLO.
    pub board: BoardInfo,
    /// What the link went through.
    pub counters: LinkCounters,
}

impl<L: Link> Client<L> {
    /// Opens a session: HELLO with protocol version and `model` (all zeros: any), resent until answered.
    pub fn connect(link: L, model: ModelId, options: ClientOptions) -> Result<Self, LinkError> {
        let mut client = Client {
            link,
            reader: FrameReader::new(),
            next_seq: 1,
            options: ClientOptions {
                window: options.window.max(1),
                ..options
            },
            model,
            board: BoardInfo::from(Info {
                version: VERSION,
                model_id: model,
                inputs: 0,
                latent: 0,
                code_bytes: [0; 3],
                max_payload: 0,
                engine: 0,
                name: "",
            }),
            counters: LinkCounters::default(),
        };
        client.hello()?;
        Ok(client)
    }

    /// The link (to change an emulated link's faults, say).
    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    fn hello(&mut self) -> Result<(), LinkError> {
        let mut hello = vec![VERSION];
        hello.extend(self.model.0);
        let reply = self.exchange(command::HELLO, &[hello])?.remove(0);
        let info =
            Info::parse(&reply).map_err(|e| LinkError::Protocol(format!("HELLO reply: {e}")))?;
        self.board = info.into();
        Ok(())
    }

    /// The board's counters.
    pub fn stats(&mut self) -> Result<Stats, LinkError> {
        let reply = self.exchange(command::STATS, &[Vec::new()])?.remove(0);
        Stats::parse(&reply).map_err(|e| LinkError::Protocol(format!("STATS reply: {e}")))
    }

    /// Sends each payload with ECHO; returns what came back (the link alone, no network run).
    pub fn echo(&mut self, payloads: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, LinkError> {
        self.exchange(command::ECHO, payloads)
    }

    /// Encodes frames of input codes (`inputs` each, frame after frame); returns their latent codes.
    pub fn encode(&mut self, codes: &[i64]) -> Result<Vec<i64>, LinkError> {
        let b = &self.board;
        let (values, width, out_values, out_width) =
            (b.inputs, b.code_bytes[0], b.latent, b.code_bytes[1]);
        self.run(
            command::ENCODE,
            codes,
            [values, width],
            [out_values, out_width],
        )
    }

    /// Decodes frames of latent codes; returns the decoder's output codes.
    pub fn decode(&mut self, codes: &[i64]) -> Result<Vec<i64>, LinkError> {
        let b = &self.board;
        let (values, width, out_values, out_width) =
            (b.latent, b.code_bytes[1], b.inputs, b.code_bytes[2]);
        self.run(
            command::DECODE,
            codes,
            [values, width],
            [out_values, out_width],
        )
    }

    /// Frames of codes of `[values, width]` through `command`, in batches that fill a payload; the replies' codes of
    /// `[values, width]` in order.
    fn run(
        &mut self,
        cmd: u8,
        codes: &[i64],
        [values, width]: [usize; 2],
        [out_values, out_width]: [usize; 2],
    ) -> Result<Vec<i64>, LinkError> {
        if width == 0
            || out_width == 0
            || values == 0
            || out_values == 0
            || !codes.len().is_multiple_of(values)
        {
            return Err(LinkError::Protocol(format!(
                "{} codes are not frames of {values} this board takes for command 0x{cmd:02x}",
                codes.len()
            )));
        }
        // requests and replies of at most DEFAULT_PAYLOAD bytes unless the batch is set
        let fits = |values: usize, width: usize, payload: usize| {
            (payload.saturating_sub(2) / (values * width)).max(1)
        };
        let payload = self.board.max_payload.min(DEFAULT_PAYLOAD);
        let per_payload = match self.options.batch {
            0 => fits(values, width, payload).min(fits(out_values, out_width, payload)),
            n => n.min(fits(values, width, self.board.max_payload)).min(fits(
                out_values,
                out_width,
                MAX_PAYLOAD,
            )),
        };
        let mut requests = Vec::new();
        for batch in codes.chunks(per_payload * values) {
            let mut payload = vec![0u8; 2 + batch.len() * width];
            Codes::write(
                batch.iter().copied(),
                batch.len() / values,
                values,
                width,
                &mut payload,
            )
            .map_err(|e| LinkError::Protocol(format!("a code does not fit {width} bytes: {e}")))?;
            requests.push(payload);
        }
        let replies = self.exchange(cmd, &requests)?;
        let mut out = Vec::with_capacity(codes.len() / values * out_values);
        for (reply, request) in replies.iter().zip(&requests) {
            let codes = Codes::parse(reply, out_values, out_width)
                .map_err(|e| LinkError::Protocol(format!("reply to 0x{cmd:02x}: {e}")))?;
            let frames = (request.len() - 2) / (values * width);
            if codes.frames != frames {
                return Err(LinkError::Protocol(format!(
                    "{} frames answered for {frames} sent",
                    codes.frames
                )));
            }
            out.extend(codes.iter());
        }
        Ok(out)
    }

    fn send(&mut self, cmd: u8, seq: u16, payload: &[u8]) -> Result<(), LinkError> {
        let mut wire = [0u8; MAX_WIRE];
        let frame = Frame {
            command: cmd,
            seq,
            payload,
        };
        let n = frame
            .write(&mut wire)
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        Ok(self.link.send(&wire[..n])?)
    }

    /// Sends every request of `command` with a window in flight; returns their reply payloads in order.
    fn exchange(&mut self, cmd: u8, requests: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, LinkError> {
        let mut replies: Vec<Option<Vec<u8>>> = vec![None; requests.len()];
        let (mut next, mut done) = (0, 0);
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut buf = vec![0u8; 4096];
        while done < requests.len() {
            while pending.len() < self.options.window && next < requests.len() {
                let seq = self.take_seq();
                self.send(cmd, seq, &requests[next])?;
                pending.push_back(Pending {
                    index: next,
                    seq,
                    sent: Instant::now(),
                    attempts: 1,
                });
                next += 1;
            }
            let oldest = pending.front().expect("a request in flight");
            let waited = oldest.sent.elapsed();
            if waited >= self.options.timeout {
                self.counters.timeouts += 1;
                self.resend_oldest(cmd, requests, &mut pending)?;
                continue;
            }
            let n = self.link.receive(&mut buf, self.options.timeout - waited)?;
            // what the bytes say, gathered first: the reader borrows the frame it returns
            let mut events = Vec::new();
            for &byte in &buf[..n] {
                match self.reader.push(byte) {
                    None => {}
                    Some(Err(_)) => events.push(Event::Damaged),
                    Some(Ok(frame)) => events.push(Event::Frame(
                        frame.command,
                        frame.seq,
                        frame.payload.to_vec(),
                    )),
                }
            }
            for event in events {
                match event {
                    Event::Damaged => {
                        self.counters.damaged_replies += 1;
                        self.resend_oldest(cmd, requests, &mut pending)?;
                    }
                    Event::Frame(c, _, _) if c == command::BOOT => {
                        // the board was reset: a new session, and everything in flight again (a BOOT while saying
                        // HELLO is the board starting: the HELLO is answered or resent)
                        if cmd != command::HELLO {
                            self.counters.boots += 1;
                            self.restart(cmd, requests, &mut pending)?;
                        }
                    }
                    Event::Frame(c, seq, payload) if c == cmd | command::REPLY => {
                        match pending.iter().position(|p| p.seq == seq) {
                            Some(at) => {
                                let p = pending.remove(at).expect("found");
                                self.counters.requests += 1;
                                self.counters.payload_bytes +=
                                    (requests[p.index].len() + payload.len()) as u64;
                                replies[p.index] = Some(payload);
                                done += 1;
                            }
                            None => self.counters.duplicates += 1,
                        }
                    }
                    Event::Frame(command::ERROR, seq, payload) => {
                        let error = ErrorReply::parse(&payload)
                            .map_err(|e| LinkError::Protocol(format!("ERROR frame: {e}")))?;
                        match error.code {
                            ErrorCode::Crc | ErrorCode::Framing => {
                                self.counters.damaged_requests += 1;
                                self.resend_oldest(cmd, requests, &mut pending)?;
                            }
                            // the board lost its session (a reset whose BOOT frame was lost); a refusal of a request
                            // sent before the last restart carries a sequence number no longer in flight
                            ErrorCode::NoSession if pending.iter().any(|p| p.seq == seq) => {
                                self.counters.boots += 1;
                                self.restart(cmd, requests, &mut pending)?;
                            }
                            code if pending.iter().any(|p| p.seq == seq) => {
                                return Err(LinkError::Refused {
                                    code,
                                    command: error.command,
                                    detail: error.detail.to_string(),
                                });
                            }
                            // a refusal of a request no longer in flight (a damaged copy of one since answered)
                            _ => self.counters.duplicates += 1,
                        }
                    }
                    // replies to other commands, or a BOOT while saying HELLO
                    Event::Frame(..) => self.counters.duplicates += 1,
                }
            }
        }
        Ok(replies
            .into_iter()
            .map(|r| r.expect("every request answered"))
            .collect())
    }

    /// A new session after a board reset: HELLO, then every request in flight again under a new sequence number,
    /// so that what the old session still answers is recognised as stale.
    fn restart(
        &mut self,
        cmd: u8,
        requests: &[Vec<u8>],
        pending: &mut VecDeque<Pending>,
    ) -> Result<(), LinkError> {
        self.hello()?;
        for p in pending.iter_mut() {
            p.seq = self.take_seq();
            p.sent = Instant::now();
            self.counters.resent += 1;
            self.send(cmd, p.seq, &requests[p.index])?;
        }
        Ok(())
    }

    /// The next sequence number (never 0, which BOOT uses, nor 0xFFFF, which errors without one use).
    fn take_seq(&mut self) -> u16 {
        let seq = self.next_seq;
        self.next_seq = match self.next_seq.wrapping_add(1) {
            0 | 0xFFFF => 1,
            n => n,
        };
        seq
    }

    /// Sends the oldest request in flight again, or gives up after its last attempt.
    fn resend_oldest(
        &mut self,
        cmd: u8,
        requests: &[Vec<u8>],
        pending: &mut VecDeque<Pending>,
    ) -> Result<(), LinkError> {
        let Some(p) = pending.front_mut() else {
            return Ok(());
        };
        if p.attempts >= self.options.attempts {
            return Err(LinkError::NoAnswer {
                command: cmd,
                attempts: p.attempts,
            });
        }
        p.attempts += 1;
        p.sent = Instant::now();
        let (seq, index) = (p.seq, p.index);
        // to the back: the next resend goes to the next oldest
        pending.rotate_left(1);
        self.counters.resent += 1;
        self.send(cmd, seq, &requests[index])
    }
}

/// What a run of received bytes held.
enum Event {
    Damaged,
    Frame(u8, u16, Vec<u8>),
}
