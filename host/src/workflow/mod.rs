//! The verbs that work on files, chunk by chunk: `compress` and `decompress`, for data of any size in memory
//! bounded by the chunks in flight.

mod compress;
mod decompress;

pub use compress::{CHUNK_VALUES, CompressSummary, compress_file};
pub use decompress::{RowRange, decompress_file};
