//! Chunked files (format version 3), for data larger than memory: a header for the whole data, then each chunk as a
//! complete version-1 or version-2 file of its rows, then an index (each chunk's length and rows) and a trailer
//! that locates the index, so a reader restores any range of rows from the chunks that hold it. See docs/format.md.

use super::{CompressedFile, Header, MAGIC, MAX_HEADER, VERSION, VERSION_BOUNDED, memory_budget};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The format version of a chunked file.
pub const VERSION_CHUNKED: u16 = 3;
/// The last eight bytes of a chunked file.
const TRAILER_MAGIC: [u8; 8] = *b"BALERIDX";
/// Index offset (u64), chunk count (u64), CRC-32 (u32), magic.
const TRAILER: u64 = 8 + 8 + 4 + 8;
/// Bytes per index entry: the chunk's length and rows (u64 each).
const ENTRY: u64 = 16;
/// Magic, version and header length.
const PREFIX: u64 = 8 + 2 + 4;

/// The header of a chunked file: the whole data's, and the rows per chunk (the last may hold fewer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChunkedHeader {
    file: Header,
    chunk_rows: usize,
}

/// Where one chunk lies and which rows it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Offset of its file image in the file.
    pub offset: u64,
    /// Bytes of its file image.
    pub length: u64,
    /// Its first row (sample) in the whole data.
    pub first_row: usize,
    /// Rows it holds.
    pub rows: usize,
}

/// Writes a chunked file: [`ChunkWriter::push`] each chunk's file image in order, then [`ChunkWriter::finish`].
pub struct ChunkWriter<W: Write> {
    out: W,
    path: PathBuf,
    total_rows: usize,
    chunk_rows: usize,
    /// The whole data's header, from the first chunk's.
    header: Option<Header>,
    crc: crc32fast::Hasher,
    index: Vec<u8>,
    written: u64,
    rows: usize,
}

impl<W: Write> ChunkWriter<W> {
    /// A writer of `total_rows` rows in chunks of `chunk_rows` to `out`; `path` names it in errors.
    pub fn new(out: W, path: &Path, total_rows: usize, chunk_rows: usize) -> Self {
        ChunkWriter {
            out,
            path: path.into(),
            total_rows,
            chunk_rows,
            header: None,
            crc: crc32fast::Hasher::new(),
            index: Vec::new(),
            written: 0,
            rows: 0,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(Error::io(&self.path))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Appends the next chunk: `image` is the file of its rows, whose header is `header`. The first chunk's
    /// header, with the whole data's rows, becomes the file's; every later one must agree with it but for its rows.
    pub fn push(&mut self, header: &Header, image: &[u8]) -> Result<()> {
        match &self.header {
            None => {
                let mut whole = header.clone();
                whole.shape[0] = self.total_rows;
                let json = serde_json::to_vec(&ChunkedHeader {
                    file: whole.clone(),
                    chunk_rows: self.chunk_rows,
                })
                .expect("header serialises");
                let mut prefix = MAGIC.to_vec();
                prefix.extend(VERSION_CHUNKED.to_le_bytes());
                prefix.extend((json.len() as u32).to_le_bytes());
                prefix.extend(json);
                self.crc.update(&prefix);
                self.put(&prefix)?;
                self.header = Some(whole);
            }
            Some(whole) if !agrees(whole, header) => {
                return Err(Error::Mismatch(format!(
                    "{}: chunk {} was compressed with other settings than the first ({header:?} against {whole:?})",
                    self.path.display(),
                    self.index.len() as u64 / ENTRY
                )));
            }
            Some(_) => {}
        }
        self.put(image)?;
        self.rows += header.rows();
        self.index.extend((image.len() as u64).to_le_bytes());
        self.index.extend((header.rows() as u64).to_le_bytes());
        Ok(())
    }

    /// Writes the index and trailer and returns the file's size in bytes; an error if the chunks did not hold
    /// exactly the rows announced.
    pub fn finish(mut self) -> Result<u64> {
        if self.rows != self.total_rows || self.header.is_none() {
            return Err(Error::Mismatch(format!(
                "{}: the chunks hold {} rows, not the {} announced",
                self.path.display(),
                self.rows,
                self.total_rows
            )));
        }
        let index = std::mem::take(&mut self.index);
        let (index_offset, chunks) = (self.written, index.len() as u64 / ENTRY);
        self.crc.update(&index);
        self.put(&index)?;
        let mut trailer = index_offset.to_le_bytes().to_vec();
        trailer.extend(chunks.to_le_bytes());
        trailer.extend(self.crc.clone().finalize().to_le_bytes());
        trailer.extend(TRAILER_MAGIC);
        self.put(&trailer)?;
        self.out.flush().map_err(Error::io(&self.path))?;
        Ok(self.written)
    }
}

/// Whether a chunk's header is the whole data's but for its rows.
fn agrees(whole: &Header, chunk: &Header) -> bool {
    let mut chunk = chunk.clone();
    match chunk.shape.first_mut() {
        Some(rows) => *rows = whole.rows(),
        None => return false,
    }
    chunk == *whole
}

/// A compressed file opened for reading chunk by chunk: a chunked file's index, or a version-1 or 2 file as one
/// chunk. Nothing is sized by what the file claims before it is checked against the file's length.
pub struct CompressedSource<R> {
    reader: R,
    path: PathBuf,
    /// The whole data's header.
    pub header: Header,
    /// The chunks in order of their rows.
    pub chunks: Vec<Chunk>,
    /// A version-1 or 2 file, read whole when opened.
    whole: Option<CompressedFile>,
    /// Whether the file is a version-1 or 2 file, not chunked: its errors name no rows.
    plain: bool,
    budget: u64,
}

impl CompressedSource<std::io::BufReader<std::fs::File>> {
    /// Opens the compressed file at `path` within the [`memory_budget`].
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        Self::from_reader(std::io::BufReader::new(file), path, memory_budget()?)
    }
}

impl<R: Read + Seek> CompressedSource<R> {
    /// Reads the header and index from `reader`; `path` names it in errors; each chunk is decoded within `budget`.
    pub fn from_reader(mut reader: R, path: &Path, budget: u64) -> Result<Self> {
        let bad = |m: &str| Error::malformed(path, format!("not a valid compressed file: {m}"));
        let io = Error::io(path);
        let length = reader.seek(SeekFrom::End(0)).map_err(io)?;
        reader.seek(SeekFrom::Start(0)).map_err(Error::io(path))?;
        let mut prefix = [0u8; PREFIX as usize];
        if length < PREFIX {
            return Err(bad("too short"));
        }
        reader.read_exact(&mut prefix).map_err(Error::io(path))?;
        if prefix[..8] != MAGIC {
            return Err(bad("wrong magic number (is this a .baler file?)"));
        }
        let version = u16::from_le_bytes([prefix[8], prefix[9]]);
        if version == VERSION || version == VERSION_BOUNDED {
            // one chunk: the file itself, read whole within the budget
            if length > budget {
                return Err(Error::OverBudget {
                    path: path.into(),
                    what: "reading the compressed file".into(),
                    needed: length,
                    budget,
                });
            }
            reader.seek(SeekFrom::Start(0)).map_err(Error::io(path))?;
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(Error::io(path))?;
            let file = CompressedFile::from_bytes_within(&bytes, path, budget)?;
            let rows = file.header.rows();
            return Ok(CompressedSource {
                reader,
                path: path.into(),
                header: file.header.clone(),
                chunks: vec![Chunk {
                    offset: 0,
                    length,
                    first_row: 0,
                    rows,
                }],
                whole: Some(file),
                plain: true,
                budget,
            });
        }
        if version != VERSION_CHUNKED {
            return Err(bad(&format!(
                "format version {version}; this build reads versions {VERSION}, {VERSION_BOUNDED} and {VERSION_CHUNKED}"
            )));
        }
        let header_len = u64::from(u32::from_le_bytes([
            prefix[10], prefix[11], prefix[12], prefix[13],
        ]));
        let header_end = PREFIX + header_len;
        if header_len > MAX_HEADER as u64 || header_end + TRAILER > length {
            return Err(bad("header too large or truncated"));
        }
        let mut json = vec![0u8; header_len as usize];
        reader.read_exact(&mut json).map_err(Error::io(path))?;
        let mut trailer = [0u8; TRAILER as usize];
        reader
            .seek(SeekFrom::Start(length - TRAILER))
            .map_err(Error::io(path))?;
        reader.read_exact(&mut trailer).map_err(Error::io(path))?;
        let word = |at: usize| u64::from_le_bytes(trailer[at..at + 8].try_into().expect("8 bytes"));
        let (index_offset, count) = (word(0), word(8));
        let crc = u32::from_le_bytes(trailer[16..20].try_into().expect("4 bytes"));
        if trailer[20..] != TRAILER_MAGIC {
            return Err(bad(
                "the index trailer is missing (a truncated chunked file?)",
            ));
        }
        // the index lies between the header and the trailer, and fills that space exactly
        let index_len = (length - TRAILER)
            .checked_sub(index_offset)
            .filter(|&n| index_offset >= header_end && Some(n) == count.checked_mul(ENTRY))
            .ok_or_else(|| bad("the index does not fit the file"))?;
        let mut index = vec![0u8; index_len as usize];
        reader
            .seek(SeekFrom::Start(index_offset))
            .map_err(Error::io(path))?;
        reader.read_exact(&mut index).map_err(Error::io(path))?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&prefix);
        hasher.update(&json);
        hasher.update(&index);
        if hasher.finalize() != crc {
            return Err(bad(
                "checksum mismatch in the header or index: the file is corrupted",
            ));
        }
        let ChunkedHeader {
            file: header,
            chunk_rows,
        } = serde_json::from_slice(&json).map_err(|e| bad(&format!("header: {e}")))?;
        header.check().map_err(|m| bad(&m))?;
        let (mut offset, mut first_row) = (header_end, 0usize);
        let mut chunks = Vec::with_capacity(count as usize);
        for entry in index.chunks_exact(ENTRY as usize) {
            let length = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
            let rows = u64::from_le_bytes(entry[8..].try_into().expect("8 bytes"));
            let rows = usize::try_from(rows)
                .ok()
                .filter(|&r| r >= 1 && r <= chunk_rows)
                .ok_or_else(|| {
                    bad(&format!(
                        "chunk {} holds {rows} rows (1 to {chunk_rows})",
                        chunks.len()
                    ))
                })?;
            chunks.push(Chunk {
                offset,
                length,
                first_row,
                rows,
            });
            offset = offset
                .checked_add(length)
                .filter(|&end| end <= index_offset)
                .ok_or_else(|| bad("a chunk runs past the index"))?;
            first_row = first_row
                .checked_add(rows)
                .filter(|&n| n <= header.rows())
                .ok_or_else(|| bad("the chunks hold more rows than the header"))?;
        }
        if offset != index_offset || first_row != header.rows() {
            return Err(bad(&format!(
                "the chunks hold {first_row} rows in {} bytes, the header announces {} rows before byte {index_offset}",
                offset - header_end,
                header.rows()
            )));
        }
        Ok(CompressedSource {
            reader,
            path: path.into(),
            header,
            chunks,
            whole: None,
            plain: false,
            budget,
        })
    }

    /// The chunks that hold any of `rows`.
    pub fn chunks_of(&self, rows: std::ops::Range<usize>) -> impl Iterator<Item = Chunk> + '_ {
        self.chunks
            .iter()
            .filter(move |c| c.first_row < rows.end && c.first_row + c.rows > rows.start)
            .copied()
    }

    /// What names `chunk` in errors: the file, and for a chunked file the chunk's rows.
    pub fn name_of(&self, chunk: Chunk) -> PathBuf {
        match self.plain {
            true => self.path.clone(),
            false => PathBuf::from(format!(
                "{} (rows {}..{})",
                self.path.display(),
                chunk.first_row,
                chunk.first_row + chunk.rows
            )),
        }
    }

    /// Reads and checks the file of `chunk` (one of [`CompressedSource::chunks`]): it must hold the chunk's rows
    /// with the whole file's settings.
    pub fn read(&mut self, chunk: Chunk) -> Result<CompressedFile> {
        if let Some(file) = self.whole.take() {
            return Ok(file);
        }
        let path = self.name_of(chunk);
        if chunk.length > self.budget {
            return Err(Error::OverBudget {
                path,
                what: "reading one chunk".into(),
                needed: chunk.length,
                budget: self.budget,
            });
        }
        self.reader
            .seek(SeekFrom::Start(chunk.offset))
            .map_err(Error::io(&self.path))?;
        let mut bytes = vec![0u8; chunk.length as usize];
        self.reader
            .read_exact(&mut bytes)
            .map_err(Error::io(&self.path))?;
        let file = CompressedFile::from_bytes_within(&bytes, &path, self.budget)?;
        if file.header.rows() != chunk.rows || !agrees(&self.header, &file.header) {
            return Err(Error::malformed(
                &path,
                "not a valid compressed file: the chunk's header does not agree with the file's",
            ));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{LatentPrecision, Predictor};
    use crate::data::{DataKind, FloatType};
    use std::io::Cursor;

    /// The image of a version-1 file of `rows` rows of two variables, latent 1.
    fn chunk(rows: usize) -> (Header, Vec<u8>) {
        let file = CompressedFile {
            header: Header {
                model_id: "00112233445566778899aabbccddeeff".into(),
                kind: DataKind::Table,
                shape: vec![rows, 2],
                dtype: FloatType::F32,
                names: vec!["a".into(), "b".into()],
                latent_size: 1,
                latent_precision: LatentPrecision::F32,
                latent_step: None,
                error_bounds: None,
                predictor: Predictor::Autoencoder,
                integer: None,
                interpolation: None,
            },
            latent: (0..rows).map(|r| r as f32).collect(),
            residuals: None,
        };
        (file.header.clone(), file.to_bytes(3))
    }

    /// A chunked file of 3 + 3 + 2 rows.
    fn chunked() -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = ChunkWriter::new(&mut out, Path::new("w"), 8, 3);
        for rows in [3, 3, 2] {
            let (header, image) = chunk(rows);
            writer.push(&header, &image).unwrap();
        }
        let size = writer.finish().unwrap();
        assert_eq!(size as usize, out.len());
        out
    }

    fn open(bytes: &[u8]) -> Result<CompressedSource<Cursor<&[u8]>>> {
        CompressedSource::from_reader(Cursor::new(bytes), Path::new("c.baler"), 1 << 20)
    }

    #[test]
    fn a_chunked_file_reads_back_chunk_by_chunk_and_by_range() {
        let bytes = chunked();
        let mut source = open(&bytes).unwrap();
        assert_eq!(source.header.shape, [8, 2]);
        let firsts: Vec<usize> = source.chunks.iter().map(|c| c.first_row).collect();
        assert_eq!(firsts, [0, 3, 6]);
        let wanted: Vec<Chunk> = source.chunks_of(2..4).collect();
        assert_eq!(wanted, source.chunks[..2]);
        let last = source.read(source.chunks[2]).unwrap();
        assert_eq!(last.latent, [0.0, 1.0]);
        // a plain file is one chunk
        let (_, image) = chunk(5);
        let mut plain = open(&image).unwrap();
        assert_eq!(plain.chunks.len(), 1);
        assert_eq!(plain.read(plain.chunks[0]).unwrap().header.rows(), 5);
        // a writer given chunks of other settings, or fewer rows than announced, refuses
        let mut out = Vec::new();
        let mut writer = ChunkWriter::new(&mut out, Path::new("w"), 8, 3);
        let (header, image) = chunk(3);
        writer.push(&header, &image).unwrap();
        let (mut other, image) = chunk(3);
        other.latent_size = 2;
        assert!(writer.push(&other, &image).is_err());
        assert!(writer.finish().is_err());
    }

    #[test]
    fn a_crafted_trailer_or_index_is_refused_without_allocating_what_it_claims() {
        let bytes = chunked();
        let len = bytes.len();
        let with_crc = |mut b: Vec<u8>| {
            // the CRC made valid, so that the checks behind it are reached
            let header_end = 14 + u32::from_le_bytes(b[10..14].try_into().unwrap()) as usize;
            let index = u64::from_le_bytes(b[len - 28..len - 20].try_into().unwrap()) as usize;
            let mut h = crc32fast::Hasher::new();
            h.update(&b[..header_end]);
            if index <= len - 28 && index >= header_end {
                h.update(&b[index..len - 28]);
            }
            b[len - 12..len - 8].copy_from_slice(&h.finalize().to_le_bytes());
            b
        };
        let trailer = |offset: u64, count: u64| {
            let mut b = bytes.clone();
            b[len - 28..len - 20].copy_from_slice(&offset.to_le_bytes());
            b[len - 20..len - 12].copy_from_slice(&count.to_le_bytes());
            b
        };
        let index_offset = u64::from_le_bytes(bytes[len - 28..len - 20].try_into().unwrap());
        for (offset, count) in [
            (u64::MAX, 3),
            (len as u64, 3),
            (0, 3),
            (index_offset, u64::MAX),
            (index_offset, 2),
        ] {
            let error = open(&trailer(offset, count)).err().unwrap().to_string();
            assert!(
                error.contains("index does not fit the file"),
                "{offset} {count}: {error}"
            );
        }
        // an entry claiming more rows than chunk_rows, or a length past the index, behind a valid CRC
        let entry = index_offset as usize;
        let mut rows = bytes.clone();
        rows[entry + 8..entry + 16].copy_from_slice(&4u64.to_le_bytes());
        let error = open(&with_crc(rows)).err().unwrap().to_string();
        assert!(error.contains("holds 4 rows (1 to 3)"), "{error}");
        let mut length = bytes.clone();
        length[entry..entry + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let error = open(&with_crc(length)).err().unwrap().to_string();
        assert!(error.contains("runs past the index"), "{error}");
        // without the CRC made valid, any change to the index is a checksum mismatch
        let mut flipped = bytes.clone();
        flipped[entry] ^= 1;
        let error = open(&flipped).err().unwrap().to_string();
        assert!(error.contains("checksum mismatch"), "{error}");
    }
}
