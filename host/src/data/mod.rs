//! Input and output of the data a user brings: tables (rows × variables) and stacks of 2-D fields,
//! read from `.npy`, `.npz` (Python Baler's `data` + `names` layout) or CSV with a header, and written back.

pub mod npy;
mod rows;

use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::Normalization;
pub use npy::FloatType;
use npy::NpyArray;
pub use rows::{NpyWriter, RowSource};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The layout of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DataKind {
    /// A row of named variables.
    Table,
    /// A 2-D field (image, CFD slice) of `height × width` values.
    Fields {
        /// Rows of the field.
        height: usize,
        /// Columns of the field.
        width: usize,
    },
}

impl std::fmt::Display for DataKind {
    /// `table`, or `fields of H × W`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataKind::Table => write!(f, "table"),
            DataKind::Fields { height, width } => write!(f, "fields of {height} × {width}"),
        }
    }
}

/// How a 2-D array is read: rows × variables, or one 2-D field (an image). A 3-D array is always a stack of
/// fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Guessed from the shape, with the reason printed (`new-project`'s default).
    Auto,
    /// Rows × variables: the default of a `baler.toml` without `layout`, as every 2-D array was read before.
    #[default]
    Table,
    /// One field (an image) of rows × columns: a stack of one.
    #[value(alias = "image")]
    #[serde(alias = "image")]
    Fields,
}

/// Fewest rows per variable for `Layout::Auto` to read a wide 2-D array as a table.
const TABLE_ROWS_PER_VARIABLE: usize = 4;
/// Columns from which `Layout::Auto` considers a 2-D array with few rows an image.
const IMAGE_MIN_COLUMNS: usize = 64;

impl DataKind {
    /// What its samples are called: `rows` or `fields`.
    pub fn samples(&self) -> &'static str {
        match self {
            DataKind::Table => "rows",
            DataKind::Fields { .. } => "fields",
        }
    }
}

/// An array of samples, held as f64 in row-major order whatever the stored type.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Table or field stack.
    pub kind: DataKind,
    /// Variable names of a table (empty for fields).
    pub names: Vec<String>,
    /// The type the values were stored in, and are written back in.
    pub dtype: FloatType,
    /// Number of samples (rows or fields).
    pub rows: usize,
    /// `rows × features()` values.
    pub values: Vec<f64>,
}

impl Dataset {
    /// Values per sample.
    pub fn features(&self) -> usize {
        match self.kind {
            DataKind::Table => self.names.len(),
            DataKind::Fields { height, width } => height * width,
        }
    }

    /// Shape of the stored array.
    pub fn shape(&self) -> Vec<usize> {
        match self.kind {
            DataKind::Table => vec![self.rows, self.names.len()],
            DataKind::Fields { height, width } => vec![self.rows, height, width],
        }
    }

    /// Size of the raw array in bytes (what the compression ratio is measured against).
    pub fn raw_bytes(&self) -> usize {
        self.values.len() * self.dtype.size()
    }

    /// Whether a table's variables are named (by the file or the caller) rather than var0, var1, …
    pub fn has_own_names(&self) -> bool {
        self.names != default_names(self.names.len())
    }

    /// The data read as `layout` says, with a sentence on how and why (`path` names the file). A 2-D array
    /// read as fields becomes one field of rows × columns; `Layout::Auto` takes a wide array with fewer than
    /// [`TABLE_ROWS_PER_VARIABLE`] rows per variable, and no names of its own, for an image.
    pub fn arrange(self, layout: Layout, path: &Path) -> Result<(Self, String)> {
        let (rows, columns) = (self.rows, self.features());
        let named = self.kind == DataKind::Table && self.has_own_names();
        match (self.kind, layout) {
            (DataKind::Fields { .. }, Layout::Table) => Err(Error::Mismatch(format!(
                "{}: a 3-D array is a stack of fields and cannot be read as a table",
                path.display()
            ))),
            (DataKind::Fields { .. }, _) => {
                let why = format!("a 3-D array: a stack of {rows} {}", self.kind);
                Ok((self, why))
            }
            (DataKind::Table, Layout::Table) => {
                let why = format!("a table of {rows} rows × {columns} variables (layout = table)");
                Ok((self, why))
            }
            (DataKind::Table, Layout::Fields) => {
                let why = format!("one field (image) of {rows} × {columns} (layout = fields)");
                Ok((self.into_one_field(), why))
            }
            (DataKind::Table, Layout::Auto)
                if !named
                    && columns >= IMAGE_MIN_COLUMNS
                    && rows < TABLE_ROWS_PER_VARIABLE * columns =>
            {
                let why = format!(
                    "one field (image) of {rows} × {columns}: as a table it would have {columns} variables and \
                     only {rows} rows (fewer than {TABLE_ROWS_PER_VARIABLE} per variable); say --layout table \
                     to read it as one"
                );
                Ok((self.into_one_field(), why))
            }
            (DataKind::Table, Layout::Auto) => {
                let why = format!(
                    "a table of {rows} rows × {columns} variables{}; say --layout fields to read a 2-D array \
                     as one image",
                    if named { ", named in the file" } else { "" }
                );
                Ok((self, why))
            }
        }
    }

    /// A 2-D array read as a table of H rows × W variables, read instead as one field of H × W when `kind` is
    /// that field (a model trained on one image reading the next); any other data is returned as it is.
    pub fn shaped_as(self, kind: DataKind) -> Self {
        match kind {
            DataKind::Fields { height, width }
                if self.kind == DataKind::Table
                    && (self.rows, self.features()) == (height, width) =>
            {
                self.into_one_field()
            }
            _ => self,
        }
    }

    fn into_one_field(self) -> Self {
        Dataset {
            kind: DataKind::Fields {
                height: self.rows,
                width: self.features(),
            },
            names: Vec::new(),
            rows: 1,
            ..self
        }
    }

    /// Reads `.npy`, `.npz` or `.csv` (by extension). `names`, when not empty, names the table's variables
    /// and overrides names found in the file. NaN and infinities are refused, naming variable and row.
    pub fn load(path: &Path, names: &[String]) -> Result<Self> {
        let data = Self::load_keeping_non_finite(path, names)?;
        data.check_finite(path)?;
        Ok(data)
    }

    /// [`Dataset::load`] that keeps NaN and infinities (for error-bounded compression, which stores them
    /// exactly).
    pub fn load_keeping_non_finite(path: &Path, names: &[String]) -> Result<Self> {
        let format = Format::of(path)?;
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        Self::read_from(format, file, path, names)
    }

    /// Reads a data file held in memory, in the format of `path`'s extension (`.npy`, `.npz` or
    /// `.csv`); `path` names it in errors. The same checks as [`Dataset::load`], through the same code.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let data = Self::read_from(Format::of(path)?, std::io::Cursor::new(bytes), path, &[])?;
        data.check_finite(path)?;
        Ok(data)
    }

    fn read_from<R: Read + Seek>(
        format: Format,
        mut source: R,
        path: &Path,
        names: &[String],
    ) -> Result<Self> {
        let mut data = match format {
            Format::Npy => {
                let mut bytes = Vec::new();
                source.read_to_end(&mut bytes).map_err(Error::io(path))?;
                from_array(path, "data", npy::parse(&bytes, path, "data")?, None)?
            }
            Format::Npz => load_npz(source, path)?,
            Format::Csv => load_csv(source, path)?,
        };
        data = data.named(names, path)?;
        if data.rows == 0 || data.features() == 0 {
            return Err(Error::malformed(
                path,
                format!("empty data (shape {:?})", data.shape()),
            ));
        }
        Ok(data)
    }

    /// The table with its variables called `names` (when not empty): as many as it has.
    fn named(mut self, names: &[String], path: &Path) -> Result<Self> {
        if !names.is_empty() {
            if self.kind != DataKind::Table || names.len() != self.names.len() {
                return Err(Error::Mismatch(format!(
                    "{}: {} variable names were given but the data has {} variables",
                    path.display(),
                    names.len(),
                    self.features()
                )));
            }
            self.names = names.to_vec();
        }
        Ok(self)
    }

    fn check_finite(&self, path: &Path) -> Result<()> {
        let n = self.features();
        match self.values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(Error::NonFinite {
                path: path.into(),
                what: self.describe_position(i / n, i % n),
                value: self.values[i],
            }),
        }
    }

    /// "variable 'pt' in row 17" or "field 3 at (y 4, x 9)" for a sample and feature index.
    pub fn describe_position(&self, row: usize, feature: usize) -> String {
        match self.kind {
            DataKind::Table => format!("variable '{}' in row {row}", self.names[feature]),
            DataKind::Fields { width, .. } => {
                format!(
                    "field {row} at (y {}, x {})",
                    feature / width,
                    feature % width
                )
            }
        }
    }

    /// The samples `rows` (in that order), normalised with `normalization`: the one place where the data a model
    /// sees is made.
    pub fn normalized_rows(
        &self,
        normalization: &Normalization,
        rows: impl IntoIterator<Item = usize>,
    ) -> Vec<f64> {
        let n = self.features();
        let mut values: Vec<f64> = rows
            .into_iter()
            .flat_map(|r| &self.values[r * n..(r + 1) * n])
            .copied()
            .collect();
        normalization.apply(&mut values);
        values
    }

    /// Every sample, normalised with `normalization`.
    pub fn normalized(&self, normalization: &Normalization) -> Vec<f64> {
        self.normalized_rows(normalization, 0..self.rows)
    }

    /// Smallest and largest value of one variable (feature).
    pub fn column_range(&self, feature: usize) -> (f64, f64) {
        let column = self.values.iter().skip(feature).step_by(self.features());
        column.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
    }

    /// For each table variable, whether every finite value is an integer (such columns are restored by
    /// rounding). Fields have no integer variables.
    pub fn integer_columns(&self) -> Vec<bool> {
        match self.kind {
            DataKind::Fields { .. } => Vec::new(),
            DataKind::Table => {
                let n = self.names.len();
                (0..n)
                    .map(|v| {
                        // NaN and infinities are stored exactly in error-bounded mode: they do not count
                        self.values
                            .iter()
                            .skip(v)
                            .step_by(n)
                            .filter(|x| x.is_finite())
                            .all(|x| x.fract() == 0.0 && x.abs() < 1e15)
                    })
                    .collect()
            }
        }
    }

    /// Writes the data as `.npy`, `.npz` or `.csv` (by extension), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let data = npy::encode_floats(&self.shape(), self.dtype, &self.values);
        match extension(path).as_str() {
            "npy" => fsutil::write_bytes(path, &data),
            "npz" => fsutil::write_atomic(path, |w| {
                let mut buffer = std::io::Cursor::new(Vec::new());
                let mut zip = zip::ZipWriter::new(&mut buffer);
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored)
                    .large_file(data.len() > u32::MAX as usize / 2);
                let zerr = |e: zip::result::ZipError| Error::malformed(path, e.to_string());
                zip.start_file("data.npy", options).map_err(zerr)?;
                zip.write_all(&data).map_err(Error::io(path))?;
                if !self.names.is_empty() {
                    zip.start_file("names.npy", options).map_err(zerr)?;
                    zip.write_all(&npy::encode_strings(&self.names))
                        .map_err(Error::io(path))?;
                }
                zip.finish().map_err(zerr)?;
                w.write_all(buffer.get_ref()).map_err(Error::io(path))
            }),
            "csv" => self.save_csv(path),
            _ => Err(Error::malformed(
                path,
                "unknown output format: use .npy, .npz or .csv",
            )),
        }
    }

    fn save_csv(&self, path: &Path) -> Result<()> {
        let DataKind::Table = self.kind else {
            return Err(Error::Mismatch(format!(
                "{}: fields cannot be written as CSV; use .npy or .npz",
                path.display()
            )));
        };
        fsutil::write_atomic(path, |w| {
            let line = |w: &mut dyn Write, s: String| writeln!(w, "{s}").map_err(Error::io(path));
            line(w, self.names.join(","))?;
            for row in self.values.chunks(self.names.len()) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|&v| match self.dtype {
                        FloatType::F32 => (v as f32).to_string(),
                        FloatType::F64 => v.to_string(),
                    })
                    .collect();
                line(w, cells.join(","))?;
            }
            Ok(())
        })
    }
}

/// Whether loading refuses NaN and infinities (as every verb does) or keeps them (error-bounded compression).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFinite {
    /// An error naming the first one.
    Refuse,
    /// Kept as they are.
    Keep,
}

/// Variable names from text: one per line, or separated by commas; blank entries skipped.
pub fn parse_names(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The names in `<stem>.names.txt` beside the data file `path`, if that file exists.
pub fn sidecar_names(path: &Path) -> Result<Option<(std::path::PathBuf, Vec<String>)>> {
    let sidecar = path.with_extension("names.txt");
    if !sidecar.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&sidecar).map_err(Error::io(&sidecar))?;
    Ok(Some((sidecar, parse_names(&text))))
}

/// The names in `<stem>.names.txt` beside the data file `input`, or none: what a `.npy` file read without a
/// model is named by when no names are given.
pub fn names_beside(input: &Path) -> Result<Vec<String>> {
    Ok(sidecar_names(input)?
        .map(|(_, names)| names)
        .unwrap_or_default())
}

/// Loads data without a model: a 3-D array is a stack of fields, a 2-D one a table or one field as `layout` says
/// ([`Dataset::arrange`]); named by `names` when given, else a `.npy` file by [`names_beside`] it.
pub fn load_without_model(
    input: &Path,
    names: &[String],
    layout: Layout,
    non_finite: NonFinite,
) -> Result<(Dataset, String)> {
    let beside = names_beside(input)?;
    let data = load_for_model(input, names, DataKind::Table, &beside, non_finite)?;
    data.arrange(layout, input)
}

/// Loads data for a model trained on `model_kind` data named `model_names`: a `.npy` file carries no variable
/// names, so it gets the model's (a count mismatch is still an error); `names` overrides the file's. A 2-D array
/// the size of the model's field is read as one field.
pub fn load_for_model(
    input: &Path,
    names: &[String],
    model_kind: DataKind,
    model_names: &[String],
    non_finite: NonFinite,
) -> Result<Dataset> {
    let npy = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let names = if names.is_empty() && npy {
        model_names
    } else {
        names
    };
    let data = match non_finite {
        NonFinite::Refuse => Dataset::load(input, names)?,
        NonFinite::Keep => Dataset::load_keeping_non_finite(input, names)?,
    };
    Ok(data.shaped_as(model_kind))
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// The data file formats read, by extension.
#[derive(Clone, Copy)]
enum Format {
    Npy,
    Npz,
    Csv,
}

impl Format {
    fn of(path: &Path) -> Result<Self> {
        match extension(path).as_str() {
            "npy" => Ok(Format::Npy),
            "npz" => Ok(Format::Npz),
            "csv" => Ok(Format::Csv),
            _ => Err(Error::malformed(
                path,
                "unknown data format: use a .npy, .npz or .csv file",
            )),
        }
    }
}

fn default_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("var{i}")).collect()
}

/// A table or field stack from the array `array` of `path`. Empty arrays are refused before anything
/// is sized by their other dimensions.
fn from_array(
    path: &Path,
    array: &str,
    data: NpyArray,
    names: Option<Vec<String>>,
) -> Result<Dataset> {
    let bad = |m: String| Error::malformed(path, format!("array '{array}': {m}"));
    let NpyArray::Float {
        shape,
        dtype,
        values,
    } = data
    else {
        return Err(bad("holds strings, not numbers".into()));
    };
    let (kind, rows, features) = match shape[..] {
        [rows, cols] => (DataKind::Table, rows, Some(cols)),
        [rows, height, width] => (
            DataKind::Fields { height, width },
            rows,
            height.checked_mul(width),
        ),
        _ => {
            return Err(bad(format!(
                "has shape {shape:?}; expected rows × variables (2-D) or fields × height × width (3-D)"
            )));
        }
    };
    if shape.contains(&0) {
        return Err(bad(format!("is empty (shape {shape:?})")));
    }
    let features = features
        .ok_or_else(|| bad(format!("has fields too large to address (shape {shape:?})")))?;
    let names = match (kind, names) {
        (DataKind::Fields { .. }, _) => Vec::new(),
        (DataKind::Table, Some(names)) if names.len() == features => names,
        (DataKind::Table, Some(names)) => {
            return Err(Error::malformed(
                path,
                format!(
                    "'names' has {} entries but the data has {features} variables",
                    names.len()
                ),
            ));
        }
        (DataKind::Table, None) => default_names(features),
    };
    Ok(Dataset {
        kind,
        names,
        dtype,
        rows,
        values,
    })
}

/// Deflate's largest expansion: 258 bytes from a 2-bit code, about 1032:1 (zlib's documentation).
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Reads the member `name` of an archive, refusing one that declares more than its compressed bytes
/// can hold or that holds more than it declares; nothing is sized by the declaration.
fn read_member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    path: &Path,
) -> Result<Vec<u8>> {
    let bad = |m: String| Error::malformed(path, format!("'{name}': {m}"));
    let entry = zip
        .by_name(name)
        .map_err(|e| bad(format!("not a valid .npz member: {e}")))?;
    let declared = entry.size();
    let compressed = entry.compressed_size();
    let most = match entry.compression() {
        zip::CompressionMethod::Stored => compressed,
        _ => compressed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(MAX_DEFLATE_RATIO),
    };
    if declared > most {
        return Err(bad(format!(
            "declares {declared} bytes from {compressed} compressed bytes, more than {:?} can expand to",
            entry.compression()
        )));
    }
    let mut bytes = Vec::new();
    entry
        .take(declared.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > declared {
        return Err(bad(format!(
            "holds more than the {declared} bytes it declares"
        )));
    }
    Ok(bytes)
}

fn load_npz<R: Read + Seek>(source: R, path: &Path) -> Result<Dataset> {
    let zerr =
        |e: zip::result::ZipError| Error::malformed(path, format!("not a valid .npz archive: {e}"));
    let mut zip = zip::ZipArchive::new(source).map_err(zerr)?;
    let entries: Vec<String> = zip.file_names().map(str::to_string).collect();
    let mut read = |name: &str| -> Result<NpyArray> {
        let bytes = read_member(&mut zip, name, path)?;
        npy::parse(&bytes, path, name.trim_end_matches(".npy"))
    };
    let data_entry = if entries.iter().any(|e| e == "data.npy") {
        "data.npy".to_string()
    } else {
        let others: Vec<&String> = entries.iter().filter(|e| *e != "names.npy").collect();
        match others[..] {
            [only] => only.clone(),
            _ => {
                return Err(Error::malformed(
                    path,
                    format!(
                        "no 'data' array; the archive holds {entries:?}: baler reads the array named 'data', or the \
                         only one (numpy: np.savez(f, data=u) or np.save(f, u) for the array to compress)"
                    ),
                ));
            }
        }
    };
    let names = if entries.iter().any(|e| e == "names.npy") {
        match read("names.npy")? {
            NpyArray::Text { values, .. } => Some(values),
            // Python Baler writes an empty float array when there are no names
            NpyArray::Float { values, .. } if values.is_empty() => None,
            NpyArray::Float { .. } => {
                return Err(Error::malformed(path, "'names' holds numbers, not strings"));
            }
        }
    } else {
        None
    };
    let data = read(&data_entry)?;
    from_array(path, data_entry.trim_end_matches(".npy"), data, names)
}

fn load_csv<R: Read>(source: R, path: &Path) -> Result<Dataset> {
    let bad = |m: String| Error::malformed(path, m);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(source);
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if names.iter().any(|n| n.parse::<f64>().is_ok()) {
        return Err(bad(
            "the first line must be a header of variable names, not numbers".into(),
        ));
    }
    let mut values = Vec::new();
    let mut rows = 0;
    for record in reader.records() {
        let record =
            record.map_err(|e| bad(format!("{e} (every row needs one value per header name)")))?;
        let line = record.position().map_or(rows + 2, |p| p.line() as usize);
        for (cell, name) in record.iter().zip(&names) {
            let value = cell.parse::<f64>().map_err(|_| {
                bad(format!(
                    "line {line}, variable '{name}': '{cell}' is not a number"
                ))
            })?;
            values.push(value);
        }
        rows += 1;
    }
    Ok(Dataset {
        kind: DataKind::Table,
        names,
        dtype: FloatType::F64,
        rows,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Dataset {
        Dataset {
            kind: DataKind::Table,
            names: vec!["pt".into(), "n".into()],
            dtype: FloatType::F32,
            rows: 3,
            values: vec![1.5, 2.0, 2.25, 3.0, 100.125, -1.0],
        }
    }

    #[test]
    fn every_format_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        for ext in ["npy", "npz", "csv"] {
            let path = dir.path().join(format!("t.{ext}"));
            table().save(&path).unwrap();
            let back = Dataset::load(&path, &[]).unwrap();
            assert_eq!(back.values, table().values, "{ext}");
            if ext != "npy" {
                assert_eq!(back.names, table().names, "{ext}");
            }
        }
        let fields = Dataset {
            kind: DataKind::Fields {
                height: 2,
                width: 3,
            },
            names: vec![],
            dtype: FloatType::F64,
            rows: 2,
            values: (0..12).map(f64::from).collect(),
        };
        let path = dir.path().join("f.npz");
        fields.save(&path).unwrap();
        assert_eq!(Dataset::load(&path, &[]).unwrap(), fields);
    }

    #[test]
    fn integer_columns_are_detected() {
        assert_eq!(table().integer_columns(), vec![false, true]);
        // NaN and infinities (stored exactly) do not make an integer variable fractional
        let mut t = table();
        let n = t.features();
        t.values[n + 1] = f64::NAN;
        t.values[1] = f64::INFINITY;
        assert_eq!(t.integer_columns(), vec![false, true]);
    }

    #[test]
    fn nan_is_refused_naming_variable_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nan.npy");
        let mut t = table();
        t.values[3] = f64::NAN;
        t.save(&path).unwrap();
        let err = Dataset::load(&path, &[]).unwrap_err().to_string();
        assert!(
            err.contains("'var1' in row 1") && err.contains("NaN"),
            "{err}"
        );
    }

    #[test]
    fn ragged_csv_and_text_cells_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "a,b\n1,2\n3\n").unwrap();
        assert!(Dataset::load(&path, &[]).is_err());
        std::fs::write(&path, "a,b\n1,2\n3,x\n").unwrap();
        let err = Dataset::load(&path, &[]).unwrap_err().to_string();
        assert!(err.contains("line 3, variable 'b'"), "{err}");
        std::fs::write(&path, "a,b\n").unwrap();
        assert!(
            Dataset::load(&path, &[])
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }

    /// A `.npy` file whose header claims `descr` and `shape` (Python tuple text), with `payload` bytes.
    fn crafted_npy(descr: &str, shape: &str, payload: usize) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(std::iter::repeat_n(0u8, payload));
        out
    }

    /// A `.npz` archive of the members, stored or deflated.
    fn npz(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut buffer = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in members {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        buffer.into_inner()
    }

    /// Rewrites the uncompressed size of every member in the central directory.
    fn declare_size(archive: &mut [u8], size: u32) {
        let at: Vec<usize> = archive
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == b"PK\x01\x02")
            .map(|(i, _)| i)
            .collect();
        for i in at {
            archive[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
        }
    }

    fn error(bytes: &[u8], file: &str) -> String {
        Dataset::from_bytes(bytes, Path::new(file))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn crafted_headers_are_refused_as_npy_and_inside_npz() {
        let names = npy::encode_strings(&["a".into(), "b".into()]);
        let good_data = npy::encode_floats(&[1, 2], FloatType::F32, &[1.0, 2.0]);
        let cases = [
            // no payload: passes the size check, then once sized 10^11 default names
            (
                crafted_npy("<f4", "(0, 100000000000)", 0),
                "is empty (shape [0, 100000000000])",
            ),
            // height × width overflows
            (
                crafted_npy("<f4", "(0, 4294967296, 4294967296)", 0),
                "is empty (shape [0, 4294967296, 4294967296])",
            ),
            // width × 4 overflows
            (
                crafted_npy("<U4611686018427387904", "(3,)", 0),
                "dtype '<U4611686018427387904' has items larger than memory",
            ),
        ];
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            for (bytes, needle) in &cases {
                let (bytes, needle) = (bytes.as_slice(), *needle);
                let err = error(bytes, "crafted.npy");
                assert!(
                    err.starts_with("crafted.npy: array 'data': ") && err.contains(needle),
                    "{err}"
                );
                let archive = npz(&[("data.npy", bytes), ("names.npy", &names)], method);
                let err = error(&archive, "crafted.npz");
                assert!(
                    err.starts_with("crafted.npz: array 'data': ") && err.contains(needle),
                    "{err}"
                );
                if needle.contains("dtype") {
                    // the same claim in the names beside good data
                    let archive = npz(&[("data.npy", &good_data), ("names.npy", bytes)], method);
                    let err = error(&archive, "crafted.npz");
                    assert!(
                        err.starts_with("crafted.npz: array 'names': ") && err.contains(needle),
                        "{err}"
                    );
                }
            }
        }
    }

    #[test]
    fn npz_members_are_read_no_further_than_their_bytes_allow() {
        let data = npy::encode_floats(&[64, 4], FloatType::F64, &[1.0; 256]);
        // a deflated member declaring 4 GiB: more than its compressed bytes can expand to
        let mut archive = npz(&[("data.npy", &data)], zip::CompressionMethod::Deflated);
        declare_size(&mut archive, 0xFFFF_FFF0);
        let err = error(&archive, "bomb.npz");
        assert!(
            err.contains("bomb.npz: 'data.npy': declares 4294967280 bytes from"),
            "{err}"
        );
        // several arrays and none named 'data': which one is meant is not guessed, and the error says what to do
        let archive = npz(
            &[("u.npy", &data), ("v.npy", &data)],
            zip::CompressionMethod::Stored,
        );
        let err = error(&archive, "two.npz");
        assert!(
            err.contains(
                r#"the archive holds ["u.npy", "v.npy"]: baler reads the array named 'data'"#
            ),
            "{err}"
        );
        // members declaring fewer bytes than they hold: reading stops one byte past the declaration
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            let mut archive = npz(&[("data.npy", &data)], method);
            declare_size(&mut archive, 100);
            let err = error(&archive, "short.npz");
            assert!(
                err.contains("short.npz: 'data.npy': holds more than the 100 bytes it declares"),
                "{method:?}: {err}"
            );
        }
    }

    #[test]
    fn from_bytes_reads_what_load_reads_including_python_baler_npz() {
        let dir = tempfile::tempdir().unwrap();
        for ext in ["npy", "npz", "csv"] {
            let path = dir.path().join(format!("t.{ext}"));
            table().save(&path).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                Dataset::from_bytes(&bytes, &path).unwrap(),
                Dataset::load(&path, &[]).unwrap(),
                "{ext}"
            );
        }
        // Python Baler's layout: an empty float 'names' array means no names
        let data = npy::encode_floats(&[2, 2], FloatType::F64, &[1.0, 2.0, 3.0, 4.0]);
        let no_names = npy::encode_floats(&[0], FloatType::F64, &[]);
        let archive = npz(
            &[("data.npy", &data), ("names.npy", &no_names)],
            zip::CompressionMethod::Deflated,
        );
        let read = Dataset::from_bytes(&archive, Path::new("p.npz")).unwrap();
        assert_eq!(read.names, vec!["var0", "var1"]);
        assert!(
            error(b"a,b\n1,2\n", "t.txt").contains("t.txt: unknown data format"),
            "unknown extension"
        );
    }
}
