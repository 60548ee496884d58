//! The firmware binary on an emulated board: QEMU started with the board's UART on a pseudo-terminal, which the
//! host opens as a `serial:` port; stopped (by its process id) when dropped.

use crate::firmware::Board;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A QEMU process running a firmware ELF.
pub struct QemuBoard {
    child: Child,
    path: PathBuf,
}

impl QemuBoard {
    /// Starts `elf` on `board`; returns once QEMU has named the pseudo-terminal of the board's UART.
    pub fn start(board: Board, elf: &Path) -> std::io::Result<Self> {
        let (program, machine) = board.qemu();
        let mut child = Command::new(program)
            .args(machine)
            .arg("-kernel")
            .arg(elf)
            .args(["-display", "none", "-monitor", "none", "-serial", "pty"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "{program}: {e} (Debian: apt-get install qemu-system-misc qemu-system-arm)"
                    ),
                )
            })?;
        // on stdout: "char device redirected to /dev/pts/3 (label serial0)"; errors on stderr
        let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
        let (found, said) = mpsc::channel();
        let complaint = found.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.as_mut().map(|e| e.read_to_string(&mut text));
            let _ = complaint.send(Err(text.trim().to_string()));
        });
        std::thread::spawn(move || {
            let Some(stdout) = stdout.as_mut() else {
                return;
            };
            let (mut text, mut buf) = (String::new(), [0u8; 256]);
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                let path = text
                    .split("redirected to ")
                    .nth(1)
                    .and_then(|rest| rest.split_once(" ("))
                    .map(|(path, _)| PathBuf::from(path));
                if let Some(path) = path {
                    let _ = found.send(Ok(path));
                    // QEMU's later output is read and dropped, so that it never blocks on a full pipe
                    while let Ok(1..) = stdout.read(&mut buf) {}
                    return;
                }
            }
        });
        let path = match said.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(path)) => path,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                let said = match outcome {
                    Ok(Err(said)) => said,
                    _ => "no pseudo-terminal named within 20 s".into(),
                };
                return Err(std::io::Error::other(format!(
                    "{program} did not start: {said}"
                )));
            }
        };
        Ok(QemuBoard { child, path })
    }

    /// The pseudo-terminal of the board's UART.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until QEMU ends.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait()
    }
}

impl Drop for QemuBoard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
