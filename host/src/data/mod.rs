//! Input and output of the data a user brings: tables (rows × variables) and stacks of 2-D fields,
//! read from `.npy`, `.npz` (Python Baler's `data` + `names` layout) or CSV with a header, and written back.

pub mod npy;

use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::Normalization;
pub use npy::FloatType;
use npy::NpyArray;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
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

    /// Reads `.npy`, `.npz` or `.csv` (by extension). `names`, when not empty, names the table's variables
    /// and overrides names found in the file. NaN and infinities are refused, naming variable and row.
    pub fn load(path: &Path, names: &[String]) -> Result<Self> {
        let ext = extension(path);
        let mut data = match ext.as_str() {
            "npy" => from_array(
                path,
                npy::parse(&fsutil::read_bytes(path)?, path, "data")?,
                None,
            )?,
            "npz" => load_npz(path)?,
            "csv" => load_csv(path)?,
            _ => {
                return Err(Error::malformed(
                    path,
                    "unknown data format: use a .npy, .npz or .csv file",
                ));
            }
        };
        if !names.is_empty() {
            if data.kind != DataKind::Table || names.len() != data.names.len() {
                return Err(Error::Mismatch(format!(
                    "{}: {} variable names were given but the data has {} variables",
                    path.display(),
                    names.len(),
                    data.features()
                )));
            }
            data.names = names.to_vec();
        }
        if data.rows == 0 || data.features() == 0 {
            return Err(Error::malformed(
                path,
                format!("empty data (shape {:?})", data.shape()),
            ));
        }
        data.check_finite(path)?;
        Ok(data)
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

    /// For each table variable, whether every value is an integer (such columns are restored by
    /// rounding). Fields have no integer variables.
    pub fn integer_columns(&self) -> Vec<bool> {
        match self.kind {
            DataKind::Fields { .. } => Vec::new(),
            DataKind::Table => {
                let n = self.names.len();
                (0..n)
                    .map(|v| {
                        self.values
                            .iter()
                            .skip(v)
                            .step_by(n)
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

/// Loads data for a model: a `.npy` file carries no variable names, so it gets the model's (a count
/// mismatch is still an error); `names` overrides the file's.
pub fn load_for_model(input: &Path, names: &[String], model_names: &[String]) -> Result<Dataset> {
    let npy = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let names = if names.is_empty() && npy {
        model_names
    } else {
        names
    };
    Dataset::load(input, names)
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn default_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("var{i}")).collect()
}

fn from_array(path: &Path, array: NpyArray, names: Option<Vec<String>>) -> Result<Dataset> {
    let NpyArray::Float {
        shape,
        dtype,
        values,
    } = array
    else {
        return Err(Error::malformed(
            path,
            "the data array holds strings, not numbers",
        ));
    };
    let (kind, rows, features) = match shape[..] {
        [rows, cols] => (DataKind::Table, rows, cols),
        [rows, height, width] => (DataKind::Fields { height, width }, rows, height * width),
        _ => {
            return Err(Error::malformed(
                path,
                format!(
                    "data has shape {shape:?}; expected rows × variables (2-D) or fields × height × width (3-D)"
                ),
            ));
        }
    };
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

fn load_npz(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let zerr =
        |e: zip::result::ZipError| Error::malformed(path, format!("not a valid .npz archive: {e}"));
    let mut zip = zip::ZipArchive::new(file).map_err(zerr)?;
    let entries: Vec<String> = zip.file_names().map(str::to_string).collect();
    let mut read = |name: &str| -> Result<NpyArray> {
        let mut entry = zip.by_name(name).map_err(zerr)?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| Error::malformed(path, format!("'{name}': {e}")))?;
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
                    format!("no 'data' array; the archive holds {entries:?}"),
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
    from_array(path, data, names)
}

fn load_csv(path: &Path) -> Result<Dataset> {
    let bad = |m: String| Error::malformed(path, m);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::io(path)(io),
            other => bad(format!("{other:?}")),
        })?;
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
}
