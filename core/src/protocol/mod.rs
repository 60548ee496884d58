//! The frame protocol between the host and a board's firmware over a serial link, shared by both sides: frames
//! (COBS, CRC-32, a command byte and a sequence number, [`frame`]), the messages they carry ([`messages`]) and the
//! board's side that answers them ([`server`]).
//! Every length is bounded by a constant and nothing allocates, so the firmware runs it without a heap.
//! See docs/protocol.md.

pub mod frame;
pub mod messages;
pub mod server;

pub use frame::{Frame, FrameError, FrameReader, MAX_BODY, MAX_PAYLOAD, MAX_WIRE};
pub use messages::{
    Codes, CodesWriter, ErrorCode, ErrorReply, Info, MAX_NAME, PayloadError, Stats,
};
pub use server::{Accelerator, Server};

/// The protocol version this build speaks; HELLO refuses a peer that speaks another.
pub const VERSION: u8 = 1;

/// The command bytes. A reply carries its request's command with [`REPLY`] set, and its sequence number.
pub mod command {
    /// Handshake: the host's protocol version and the model id it expects; the reply is the board's [`Info`].
    ///
    /// [`Info`]: super::Info
    pub const HELLO: u8 = 0x01;
    /// The board's [`Info`](super::Info), without a handshake.
    pub const INFO: u8 = 0x02;
    /// A batch of input frames ([`Codes`](super::Codes) of the encoder's input); the reply holds their latent codes.
    pub const ENCODE: u8 = 0x03;
    /// A batch of latent frames; the reply holds the decoder's output codes.
    pub const DECODE: u8 = 0x04;
    /// The board's counters ([`Stats`](super::Stats)).
    pub const STATS: u8 = 0x05;
    /// Clears the counters and the accelerator's state; the board stays in its session.
    pub const RESET: u8 = 0x06;
    /// Any payload, answered with the same payload: a test of the link alone.
    pub const ECHO: u8 = 0x07;
    /// Set in the command byte of every reply.
    pub const REPLY: u8 = 0x80;
    /// Sent by the board, unasked, when it starts (sequence number 0, its [`Info`](super::Info)): a host that sees
    /// it in a session knows the board was reset and resends what it had in flight.
    pub const BOOT: u8 = 0x80;
    /// A request refused, or a frame that could not be read ([`ErrorReply`](super::ErrorReply)).
    pub const ERROR: u8 = 0xFF;
}
