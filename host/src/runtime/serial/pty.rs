//! An emulated board on a pseudo-terminal: the firmware's frame server and software engine on threads behind the
//! pty's master side, pacing bytes at the configured baud rate in both directions (10 bit times a byte: start, 8
//! data, stop) and injecting faults; the host opens the pty's other side by its path like any serial port.

use super::faults::{FaultCounts, Faults, Injector};
use baler_core::engine::{Image, SoftwareEngine};
use baler_core::protocol::Server;
use serialport::{SerialPort, TTYPort};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A board served on a pty until dropped.
pub struct PtyBoard {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    counts: Arc<Mutex<FaultCounts>>,
    /// The pty's host side, kept open until the board stops so the board never sees it closed.
    _host_side: TTYPort,
}

/// The line's schedule: when the bytes handed to it so far have left.
struct Pacer {
    byte_time: Duration,
    clock: Instant,
}

impl Pacer {
    fn new(baud: u32) -> Self {
        Pacer {
            byte_time: Duration::from_secs_f64(10.0 / f64::from(baud.max(1))),
            clock: Instant::now(),
        }
    }

    /// The line was idle until now: its schedule resumes from now.
    fn resume(&mut self) {
        self.clock = self.clock.max(Instant::now());
    }

    /// `bytes` more bytes on the line: sleeps until they have left. A sleep that overshoots is made up by the
    /// next bytes, so a busy line keeps its exact rate.
    fn carry(&mut self, bytes: usize) {
        self.clock += self.byte_time * bytes as u32;
        if let Some(wait) = self.clock.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

impl PtyBoard {
    /// Starts a board running the model `image` (started afresh at each reset) at `baud`, with `faults` from
    /// `seed`; it sends its BOOT frame as soon as the host side is opened.
    pub fn spawn(image: Vec<u8>, baud: u32, faults: Faults, seed: u64) -> std::io::Result<Self> {
        Image::parse(&image).map_err(|e| std::io::Error::other(e.to_string()))?;
        let (mut board_side, host_side) = TTYPort::pair().map_err(std::io::Error::other)?;
        let path = PathBuf::from(
            host_side
                .name()
                .ok_or_else(|| std::io::Error::other("pty without a name"))?,
        );
        board_side
            .set_timeout(Duration::from_millis(10))
            .map_err(std::io::Error::other)?;
        let mut writer = board_side
            .try_clone_native()
            .map_err(std::io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(FaultCounts::default()));
        let (to_host, outgoing) = mpsc::channel::<Vec<u8>>();
        // the line to the host: bytes leave at the baud rate, a millisecond's worth at a time
        let writer_stop = stop.clone();
        let sender = std::thread::spawn(move || {
            let mut pacer = Pacer::new(baud);
            let piece = (baud as usize / 10 / 1000).max(16);
            while !writer_stop.load(Ordering::Relaxed) {
                let bytes = match outgoing.try_recv() {
                    Ok(bytes) => bytes,
                    Err(_) => match outgoing.recv_timeout(Duration::from_millis(10)) {
                        Ok(bytes) => {
                            pacer.resume();
                            bytes
                        }
                        Err(_) => continue,
                    },
                };
                for part in bytes.chunks(piece) {
                    pacer.carry(part.len());
                    if writer.write_all(part).is_err() {
                        return;
                    }
                }
            }
        });
        // the line from the host: each byte arrives a byte time after the one before, and no sooner than the host
        // wrote it (read at once: the line thread does nothing else), like a UART receiving while the CPU computes
        let (to_board, incoming) = mpsc::channel::<(Vec<u8>, Instant)>();
        let line_stop = stop.clone();
        let byte_time = Duration::from_secs_f64(10.0 / f64::from(baud.max(1)));
        let receiver = std::thread::spawn(move || {
            let mut last = Instant::now();
            let mut buf = [0u8; 1024];
            while !line_stop.load(Ordering::Relaxed) {
                let n = match board_side.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                    Err(_) => break,
                };
                last = last.max(Instant::now()) + byte_time * n as u32;
                if to_board.send((buf[..n].to_vec(), last)).is_err() {
                    break;
                }
            }
        });
        // the board: bytes taken when they have arrived, faults injected both ways, answered in order
        let (board_stop, board_counts) = (stop.clone(), counts.clone());
        let piece = (baud as usize / 10 / 1000).max(16);
        let board = std::thread::spawn(move || {
            let Ok(image) = Image::parse(&image) else {
                return;
            };
            let mut injector = Injector::new(faults, seed);
            let mut server = Server::new(SoftwareEngine::new(image));
            let send = |injector: &mut Injector, bytes: &[u8]| {
                let mut arrived = Vec::with_capacity(bytes.len());
                injector.pass(bytes, &mut |b| arrived.push(b));
                let _ = to_host.send(arrived);
            };
            let mut boot = Vec::new();
            server.boot(&mut |b| boot.extend_from_slice(b));
            send(&mut injector, &boot);
            while !board_stop.load(Ordering::Relaxed) {
                let Ok((bytes, last_arrives)) = incoming.recv_timeout(Duration::from_millis(10))
                else {
                    continue;
                };
                // a millisecond's worth at a time, each piece taken when its last byte has arrived
                let mut taken = 0;
                for part in bytes.chunks(piece) {
                    taken += part.len();
                    let ready = last_arrives - byte_time * (bytes.len() - taken) as u32;
                    if let Some(wait) = ready.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let mut arrived = Vec::with_capacity(part.len());
                    injector.pass(part, &mut |b| arrived.push(b));
                    for byte in arrived {
                        if injector.reset_now() {
                            server = Server::new(SoftwareEngine::new(image));
                            let mut boot = Vec::new();
                            server.boot(&mut |b| boot.extend_from_slice(b));
                            send(&mut injector, &boot);
                        }
                        let mut reply = Vec::new();
                        server.push(byte, &mut |b| reply.extend_from_slice(b));
                        if !reply.is_empty() {
                            send(&mut injector, &reply);
                        }
                    }
                }
                *board_counts.lock().expect("not poisoned") = injector.counts;
            }
        });
        Ok(PtyBoard {
            path,
            stop,
            threads: vec![sender, receiver, board],
            counts,
            _host_side: host_side,
        })
    }

    /// The path the host opens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        *self.counts.lock().expect("not poisoned")
    }
}

impl Drop for PtyBoard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
