//! Errors of the generator and of C simulation, each naming the layer, file or tool at fault.

use std::path::PathBuf;

/// What can go wrong while designing, writing or simulating an HLS project.
#[derive(Debug, thiserror::Error)]
pub enum HlsError {
    /// The network cannot be built as requested (unsupported layer, illegal reuse factor, …).
    #[error("layer {layer}: {message}")]
    Layer {
        /// Index of the layer in the quantised network.
        layer: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A design option that cannot be used.
    #[error("{0}")]
    Config(String),
    /// Test frames that do not fit the design.
    #[error("test frames: {0}")]
    Frames(String),
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// g++ or the compiled testbench failed or could not be started.
    #[error("C simulation: {0}")]
    Csim(String),
    /// Verilator, yosys or the RTL testbench failed or could not be started.
    #[error("RTL: {0}")]
    Rtl(String),
}

impl HlsError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| HlsError::Io { path, source }
    }
}
