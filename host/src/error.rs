//! The library's typed errors. Each names the file, variable, row or layer at fault so the binary can
//! tell the user what to fix.

use std::path::PathBuf;

/// The environment variable that replaces [`DEFAULT_MEMORY_BUDGET`]: a byte count, optionally with a binary
/// suffix `K`, `M`, `G` or `T` (`512M`, `64G`).
pub const MEMORY_BUDGET_ENV: &str = "BALER_MEMORY_BUDGET";

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file exists but its content is not what its format requires.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        message: String,
    },
    /// A numeric type the tool does not read.
    #[error("{}: array '{array}' has dtype '{dtype}'; only float32 and float64 are supported (convert with numpy's astype)", path.display())]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The array inside the file.
        array: String,
        /// The dtype found.
        dtype: String,
    },
    /// A model file whose parts do not fit together: a layer, a parameter tensor, the normalisation or the
    /// data signature.
    #[error("{}: {field}: {message}", path.display())]
    InvalidModel {
        /// The model file.
        path: PathBuf,
        /// The part at fault, as the file spells it (`network.layers[2]`, `normalization.scale`, `data.names`).
        field: String,
        /// What is wrong, in words.
        message: String,
    },
    /// A compressed file whose decoding would hold more memory than the budget allows.
    #[error("{}: {what} would need {needed} bytes, more than the memory budget of {budget} bytes (set the environment variable {} to a larger byte count, e.g. 64G, if the file is genuine)", path.display(), MEMORY_BUDGET_ENV)]
    OverBudget {
        /// The compressed file.
        path: PathBuf,
        /// What would need the memory, in words.
        what: String,
        /// Bytes it would need.
        needed: u64,
        /// The budget, in bytes.
        budget: u64,
    },
    /// A NaN or infinity in the input.
    #[error("{}: {what} is {value}; the data must be finite (remove or replace such entries first)", path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Variable and row, in words.
        what: String,
        /// The offending value.
        value: f64,
    },
    /// Data, model or configuration that do not fit together.
    #[error("{0}")]
    Mismatch(String),
    /// A project configuration value that cannot be used.
    #[error("{}: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, in words.
        message: String,
    },
    /// The training backend failed or diverged.
    #[error("training failed: {0}")]
    Training(String),
    /// A device of the runtime failed (it is named in the message).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The board firmware could not be built for a board, or does not run the model.
    #[error("firmware for {board}: {message}")]
    Firmware {
        /// The board.
        board: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The HLS generator or its C simulation failed for the encoder or decoder.
    #[error("{network}: {error}")]
    Hls {
        /// "encoder" or "decoder".
        network: &'static str,
        /// The generator's error.
        error: baler_hls::HlsError,
    },
}

impl Error {
    /// A [`Error::Malformed`] for `path`.
    pub fn malformed(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Malformed {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// A failure of a device, naming it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("device {device}: {message}")]
pub struct DeviceError {
    /// The device's name.
    pub device: String,
    /// What went wrong.
    pub message: String,
}
