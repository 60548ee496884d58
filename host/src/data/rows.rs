//! Data read a block of samples at a time, so that a file larger than memory is compressed in bounded memory: a
//! `.npy` file streamed from disk, any other format loaded whole and handed out in blocks; checked and named as
//! [`Dataset::load`] does, with the rows of the whole file in messages.

use super::npy::{self, Element};
use super::{DataKind, Dataset, FloatType, Layout, NonFinite};
use crate::error::{Error, Result};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A data file opened to be read in blocks of samples.
pub struct RowSource {
    /// The whole data's kind, names, type and rows, without values.
    pub template: Dataset,
    path: PathBuf,
    stream: Stream,
    non_finite: NonFinite,
    /// The next sample to read.
    next: usize,
}

enum Stream {
    /// A C-ordered float `.npy` file at `start`, read as needed.
    Npy {
        file: BufReader<std::fs::File>,
        start: u64,
        little: bool,
    },
    /// Any other file, loaded whole.
    Loaded(Vec<f64>),
}

impl RowSource {
    /// Opens `input` for compression without a model: a 3-D array is a stack of fields, a 2-D one a table or one
    /// field (an image) as `layout` says ([`Dataset::arrange`]), with the sentence saying how and why. `names`
    /// (else, for a `.npy` file, [`names_beside`](super::names_beside) it) names a table's variables.
    pub fn open(
        input: &Path,
        names: &[String],
        layout: Layout,
        non_finite: NonFinite,
    ) -> Result<(Self, String)> {
        let beside = super::names_beside(input)?;
        let mut source = Self::open_for_model(input, names, DataKind::Table, &beside, non_finite)?;
        // reading depends only on the template's rows and values per row, which arranging keeps in step
        let (template, how) = source.template.clone().arrange(layout, input)?;
        source.template = template;
        Ok((source, how))
    }

    /// Opens `input` for a model trained on `model_kind` data named `model_names`, as
    /// [`load_for_model`](super::load_for_model) reads it: the same names, layout and checks. A C-ordered float
    /// `.npy` file is streamed; others are loaded whole.
    pub fn open_for_model(
        input: &Path,
        names: &[String],
        model_kind: DataKind,
        model_names: &[String],
        non_finite: NonFinite,
    ) -> Result<Self> {
        let streamed = match super::Format::of(input)? {
            super::Format::Npy => open_npy(input)?,
            _ => None,
        };
        let (template, stream) = match streamed {
            Some((prelude, file)) => {
                let Element::Float(dtype) = prelude.element else {
                    unreachable!("open_npy streams floats only")
                };
                let array = npy::NpyArray::Float {
                    shape: prelude.shape,
                    dtype,
                    values: Vec::new(),
                };
                let names = if names.is_empty() { model_names } else { names };
                let template = super::from_array(input, "data", array, None)?;
                let template = template.named(names, input)?.shaped_as(model_kind);
                let stream = Stream::Npy {
                    file,
                    start: prelude.start as u64,
                    little: prelude.little,
                };
                (template, stream)
            }
            None => {
                let mut data =
                    super::load_for_model(input, names, model_kind, model_names, NonFinite::Keep)?;
                let values = std::mem::take(&mut data.values);
                (data, Stream::Loaded(values))
            }
        };
        Ok(RowSource {
            template,
            path: input.into(),
            stream,
            non_finite,
            next: 0,
        })
    }

    /// Samples in the whole file.
    pub fn rows(&self) -> usize {
        self.template.rows
    }

    /// The next `rows` samples (fewer at the end; none after it), with the first one's index in the file. NaN and
    /// infinities are refused naming their row in the file, unless the source keeps them.
    pub fn read(&mut self, rows: usize) -> Result<(usize, Dataset)> {
        let first = self.next;
        let rows = rows.min(self.template.rows - first);
        let features = self.template.features();
        let (from, to) = (first * features, (first + rows) * features);
        let values = match &mut self.stream {
            Stream::Loaded(values) => values[from..to].to_vec(),
            Stream::Npy {
                file,
                start,
                little,
            } => {
                let size = self.template.dtype.size();
                let io = Error::io(&self.path);
                file.seek(SeekFrom::Start(*start + (from * size) as u64))
                    .map_err(io)?;
                let mut bytes = vec![0u8; (to - from) * size];
                file.read_exact(&mut bytes).map_err(Error::io(&self.path))?;
                if !*little {
                    bytes.chunks_exact_mut(size).for_each(<[u8]>::reverse);
                }
                self.template.dtype.from_le_bytes(&bytes)
            }
        };
        self.next = first + rows;
        let block = Dataset {
            rows,
            values,
            ..self.template.clone()
        };
        if self.non_finite == NonFinite::Refuse
            && let Some(i) = block.values.iter().position(|v| !v.is_finite())
        {
            return Err(Error::NonFinite {
                path: self.path.clone(),
                what: block.describe_position(first + i / features, i % features),
                value: block.values[i],
            });
        }
        Ok((first, block))
    }

    /// Whether every sample has been read.
    pub fn is_done(&self) -> bool {
        self.next >= self.template.rows
    }

    /// Starts again from the first sample.
    pub fn rewind(&mut self) {
        self.next = 0;
    }
}

/// The header of a `.npy` file that can be streamed (C-ordered floats, every value present), and the open file;
/// `None` for other arrays, which whole-file loading reads or refuses with its own message.
fn open_npy(path: &Path) -> Result<Option<(npy::Prelude, BufReader<std::fs::File>)>> {
    let mut file = std::fs::File::open(path).map_err(Error::io(path))?;
    let length = file.metadata().map_err(Error::io(path))?.len();
    let mut head = Vec::new();
    (&mut file)
        .take((12 + npy::MAX_HEADER_BYTES) as u64)
        .read_to_end(&mut head)
        .map_err(Error::io(path))?;
    let prelude = match npy::prelude(&head, path, "data") {
        Ok(p) => p,
        Err(_) => return Ok(None),
    };
    let needed = (prelude.count as u64).checked_mul(prelude.item_size as u64);
    let floats = matches!(prelude.element, Element::Float(_));
    if prelude.fortran_order || !floats || needed.is_none_or(|n| prelude.start as u64 + n > length)
    {
        return Ok(None);
    }
    Ok(Some((prelude, BufReader::new(file))))
}

/// Writes a `.npy` file as blocks of values arrive: the header for the whole shape first.
pub struct NpyWriter<'w> {
    out: &'w mut dyn std::io::Write,
    path: PathBuf,
    dtype: FloatType,
    /// Values still to come.
    remaining: u64,
}

impl<'w> NpyWriter<'w> {
    /// Starts a `.npy` array of `shape` and `dtype` on `out`; `path` names it in errors.
    pub fn new(
        out: &'w mut dyn std::io::Write,
        path: &Path,
        shape: &[usize],
        dtype: FloatType,
    ) -> Result<Self> {
        out.write_all(&npy::float_header(shape, dtype))
            .map_err(Error::io(path))?;
        Ok(NpyWriter {
            out,
            path: path.into(),
            dtype,
            remaining: shape.iter().map(|&d| d as u64).product(),
        })
    }

    /// Appends values in C order.
    pub fn write(&mut self, values: &[f64]) -> Result<()> {
        self.remaining = self
            .remaining
            .checked_sub(values.len() as u64)
            .ok_or_else(|| {
                Error::Mismatch(format!(
                    "{}: more values than its shape",
                    self.path.display()
                ))
            })?;
        let mut bytes = Vec::new();
        self.dtype.extend_le_bytes(&mut bytes, values);
        self.out.write_all(&bytes).map_err(Error::io(&self.path))
    }

    /// Checks that every value of the shape was written.
    pub fn finish(self) -> Result<()> {
        match self.remaining {
            0 => Ok(()),
            n => Err(Error::Mismatch(format!(
                "{}: {n} values of its shape were not written",
                self.path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file of `shape` holding 0, 1, 2, … as `descr` (`<f4` or `>f8`), with `fortran` order.
    fn npy_file(dir: &Path, name: &str, descr: &str, shape: &[usize], fortran: bool) -> PathBuf {
        let count: usize = shape.iter().product();
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let text = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({}), }}\n",
            if fortran { "True" } else { "False" },
            dims.join(", ")
        );
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        for i in 0..count {
            match descr {
                "<f4" => bytes.extend((i as f32).to_le_bytes()),
                ">f8" => bytes.extend((i as f64).to_be_bytes()),
                _ => unreachable!(),
            }
        }
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn blocks(source: &mut RowSource, rows: usize) -> Vec<(usize, Vec<f64>)> {
        let mut out = Vec::new();
        while !source.is_done() {
            let (first, block) = source.read(rows).unwrap();
            out.push((first, block.values));
        }
        out
    }

    #[test]
    fn blocks_of_a_streamed_file_are_its_rows_in_either_byte_order() {
        let tmp = tempfile::tempdir().unwrap();
        for descr in ["<f4", ">f8"] {
            let path = npy_file(tmp.path(), "t.npy", descr, &[5, 3], false);
            let mut source =
                RowSource::open_for_model(&path, &[], DataKind::Table, &[], NonFinite::Refuse)
                    .unwrap();
            assert!(matches!(source.stream, Stream::Npy { .. }));
            assert_eq!(source.rows(), 5);
            let read = blocks(&mut source, 2);
            assert_eq!(
                read.iter().map(|(first, _)| *first).collect::<Vec<_>>(),
                [0, 2, 4]
            );
            let values: Vec<f64> = read.into_iter().flat_map(|(_, v)| v).collect();
            assert_eq!(values, (0..15).map(f64::from).collect::<Vec<_>>());
            source.rewind();
            assert_eq!(source.read(9).unwrap().1.rows, 5);
        }
        // Fortran order is read whole, as Dataset::load reads it
        let path = npy_file(tmp.path(), "f.npy", "<f4", &[2, 3], true);
        let mut source =
            RowSource::open_for_model(&path, &[], DataKind::Table, &[], NonFinite::Refuse).unwrap();
        assert!(matches!(source.stream, Stream::Loaded(_)));
        let values: Vec<f64> = blocks(&mut source, 1)
            .into_iter()
            .flat_map(|(_, v)| v)
            .collect();
        assert_eq!(values, Dataset::load(&path, &[]).unwrap().values);
        // a truncated file is left to whole-file loading, which names what is missing
        let bytes = std::fs::read(tmp.path().join("t.npy")).unwrap();
        std::fs::write(tmp.path().join("cut.npy"), &bytes[..bytes.len() - 8]).unwrap();
        let error = RowSource::open_for_model(
            &tmp.path().join("cut.npy"),
            &[],
            DataKind::Table,
            &[],
            NonFinite::Refuse,
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("truncated"), "{error}");
    }

    #[test]
    fn a_written_npy_file_reads_back_and_a_short_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("w.npy");
        let mut bytes = Vec::new();
        let mut writer = NpyWriter::new(&mut bytes, &path, &[3, 2], FloatType::F32).unwrap();
        writer.write(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        writer.write(&[5.0, 6.0]).unwrap();
        assert!(writer.write(&[7.0]).is_err());
        writer.finish().unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let data = Dataset::load(&path, &[]).unwrap();
        assert_eq!(
            (data.rows, data.values),
            (3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        );
        let mut sink = Vec::new();
        let mut short = NpyWriter::new(&mut sink, &path, &[3, 2], FloatType::F64).unwrap();
        short.write(&[1.0]).unwrap();
        assert!(short.finish().unwrap_err().to_string().contains("5 values"));
    }
}
