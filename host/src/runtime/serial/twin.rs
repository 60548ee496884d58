//! An emulated board in the process: the firmware's frame server (`baler_core::protocol::Server`) in front of the
//! software engine, behind a link that injects faults in both directions. Bytes are not paced: each request is
//! answered as it is sent. What the client's retries and resynchronisation are tested against at speed.

use super::client::Link;
use super::faults::{Faults, Injector};
use baler_core::engine::{Image, SoftwareEngine};
use baler_core::protocol::Server;
use std::collections::VecDeque;
use std::time::Duration;

/// An emulated board behind a faulty link.
pub struct TwinLink<'a> {
    board: Server<SoftwareEngine<'a>>,
    image: Image<'a>,
    /// The faults on the way, and what they did.
    pub injector: Injector,
    /// Bytes on their way to the host.
    inbox: VecDeque<u8>,
}

impl<'a> TwinLink<'a> {
    /// A board running `image` (started afresh at each reset), faults at `faults`, random choices from `seed`. The
    /// board sends its BOOT frame first, as a real one does at power-on.
    pub fn new(image: Image<'a>, faults: Faults, seed: u64) -> Self {
        let mut link = TwinLink {
            board: Server::new(SoftwareEngine::new(image)),
            image,
            injector: Injector::new(faults, seed),
            inbox: VecDeque::new(),
        };
        link.boot();
        link
    }

    fn boot(&mut self) {
        let mut sent = Vec::new();
        self.board.boot(&mut |bytes| sent.extend_from_slice(bytes));
        self.send_to_host(&sent);
    }

    fn send_to_host(&mut self, bytes: &[u8]) {
        let inbox = &mut self.inbox;
        self.injector.pass(bytes, &mut |b| inbox.push_back(b));
    }
}

impl Link for TwinLink<'_> {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut arrived = Vec::with_capacity(bytes.len());
        self.injector.pass(bytes, &mut |b| arrived.push(b));
        for byte in arrived {
            if self.injector.reset_now() {
                self.board = Server::new(SoftwareEngine::new(self.image));
                self.boot();
            }
            let mut sent = Vec::new();
            self.board
                .push(byte, &mut |reply| sent.extend_from_slice(reply));
            self.send_to_host(&sent);
        }
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
        if self.inbox.is_empty() {
            // the board answers as bytes arrive: nothing more comes until the host sends
            std::thread::sleep(timeout);
            return Ok(0);
        }
        let n = buf.len().min(self.inbox.len());
        for (slot, byte) in buf.iter_mut().zip(self.inbox.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}
