//! Reader and writer for NumPy's `.npy` format (versions 1–3): float32/float64 arrays in either byte
//! order and memory layout, and fixed-width string arrays (`<U`, `|S`) for variable names.

use crate::error::{Error, Result};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element type of an array as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FloatType {
    /// 4-byte IEEE float.
    F32,
    /// 8-byte IEEE float.
    F64,
}

impl FloatType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            FloatType::F32 => 4,
            FloatType::F64 => 8,
        }
    }
}

/// A parsed `.npy` array.
#[derive(Debug, PartialEq)]
pub enum NpyArray {
    /// Numbers in C (row-major) order, widened to f64, with the stored type.
    Float {
        /// The array's shape.
        shape: Vec<usize>,
        /// The stored type.
        dtype: FloatType,
        /// The values.
        values: Vec<f64>,
    },
    /// Strings (trailing NULs removed), in C order.
    Text {
        /// The array's shape.
        shape: Vec<usize>,
        /// The strings.
        values: Vec<String>,
    },
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the bytes of a `.npy` file; `path` and `array` name it in errors.
pub fn parse(bytes: &[u8], path: &Path, array: &str) -> Result<NpyArray> {
    let bad = |m: String| Error::malformed(path, format!("array '{array}': {m}"));
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy array (missing the \\x93NUMPY magic)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let text = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated header".into()))?;
    let text = std::str::from_utf8(text).map_err(|_| bad("header is not text".into()))?;
    let header = parse_header(text).map_err(bad)?;
    let data = &bytes[start + header_len..];
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad("shape overflows".into()))?;
    let descr = header.descr.as_str();
    let (order, kind, width) =
        split_descr(descr).ok_or_else(|| bad(format!("unknown dtype '{descr}'")))?;
    if width == 0 {
        return Err(bad(format!("zero-width dtype '{descr}'")));
    }
    let little = order != '>';
    let needed = count.checked_mul(match kind {
        'U' => width * 4,
        _ => width,
    });
    match needed {
        Some(n) if data.len() >= n => {}
        _ => {
            return Err(bad(format!(
                "truncated: shape {:?} needs more data than the {} bytes present",
                header.shape,
                data.len()
            )));
        }
    }
    let array = match (kind, width) {
        ('f', 4) | ('f', 8) => {
            let dtype = if width == 4 {
                FloatType::F32
            } else {
                FloatType::F64
            };
            let values = data[..count * width]
                .chunks_exact(width)
                .map(|c| match (width, little) {
                    (4, true) => f32::from_le_bytes(c.try_into().unwrap()) as f64,
                    (4, false) => f32::from_be_bytes(c.try_into().unwrap()) as f64,
                    (_, true) => f64::from_le_bytes(c.try_into().unwrap()),
                    (_, false) => f64::from_be_bytes(c.try_into().unwrap()),
                })
                .collect();
            NpyArray::Float {
                shape: header.shape.clone(),
                dtype,
                values,
            }
        }
        ('U', n) => {
            let values = data[..count * n * 4]
                .chunks_exact((n * 4).max(1))
                .take(count)
                .map(|c| {
                    c.chunks_exact(4)
                        .map(|u| {
                            let code = if little {
                                u32::from_le_bytes(u.try_into().unwrap())
                            } else {
                                u32::from_be_bytes(u.try_into().unwrap())
                            };
                            char::from_u32(code)
                                .ok_or_else(|| bad("invalid character in string".into()))
                        })
                        .collect::<Result<String>>()
                        .map(|s| s.trim_end_matches('\0').to_string())
                })
                .collect::<Result<Vec<_>>>()?;
            NpyArray::Text {
                shape: header.shape.clone(),
                values: pad_empty(values, count),
            }
        }
        ('S', n) => {
            let values = data[..count * n]
                .chunks_exact(n.max(1))
                .take(count)
                .map(|c| {
                    String::from_utf8_lossy(c)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect();
            NpyArray::Text {
                shape: header.shape.clone(),
                values: pad_empty(values, count),
            }
        }
        _ => {
            return Err(Error::UnsupportedDtype {
                path: path.into(),
                array: array.into(),
                dtype: descr.into(),
            });
        }
    };
    Ok(if header.fortran_order {
        to_c_order(array)
    } else {
        array
    })
}

fn pad_empty(mut values: Vec<String>, count: usize) -> Vec<String> {
    values.resize(count, String::new());
    values
}

fn split_descr(descr: &str) -> Option<(char, char, usize)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    if !"<>|=".contains(order) {
        return None;
    }
    let kind = chars.next()?;
    let width = chars.as_str().parse().ok()?;
    Some((order, kind, width))
}

fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let field = |key: &str| -> std::result::Result<&str, String> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or(format!("header lacks '{key}'"))?;
        let rest = text[at + key.len() + 2..].trim_start();
        Ok(rest
            .strip_prefix(':')
            .ok_or(format!("header: no ':' after '{key}'"))?
            .trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or(
            "header: descr is not a simple dtype string (structured arrays are not supported)",
        )?;
    let fortran_order = field("fortran_order")?.starts_with("True");
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("header: shape is not a tuple")?;
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("header: bad dimension '{s}'"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Header {
        descr: descr.to_string(),
        fortran_order,
        shape,
    })
}

fn to_c_order(array: NpyArray) -> NpyArray {
    fn permute<T: Clone>(shape: &[usize], values: &[T]) -> Vec<T> {
        // Fortran index of C-ordered position: strides grow from the first axis.
        let n = shape.len();
        let mut out = Vec::with_capacity(values.len());
        let mut index = vec![0usize; n];
        for _ in 0..values.len() {
            let (mut offset, mut stride) = (0, 1);
            for axis in 0..n {
                offset += index[axis] * stride;
                stride *= shape[axis];
            }
            out.push(values[offset].clone());
            for axis in (0..n).rev() {
                index[axis] += 1;
                if index[axis] < shape[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        out
    }
    match array {
        NpyArray::Float {
            shape,
            dtype,
            values,
        } => NpyArray::Float {
            values: permute(&shape, &values),
            shape,
            dtype,
        },
        NpyArray::Text { shape, values } => NpyArray::Text {
            values: permute(&shape, &values),
            shape,
        },
    }
}

fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut text = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    let total = MAGIC.len() + 4 + text.len() + 1;
    text.push_str(&" ".repeat((64 - total % 64) % 64));
    text.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend([1u8, 0]);
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out
}

/// Encodes a C-ordered float array as `.npy` bytes in the given type.
pub fn encode_floats(shape: &[usize], dtype: FloatType, values: &[f64]) -> Vec<u8> {
    let descr = match dtype {
        FloatType::F32 => "<f4",
        FloatType::F64 => "<f8",
    };
    let mut out = header_bytes(descr, shape);
    out.reserve(values.len() * dtype.size());
    for &v in values {
        match dtype {
            FloatType::F32 => out.extend((v as f32).to_le_bytes()),
            FloatType::F64 => out.extend(v.to_le_bytes()),
        }
    }
    out
}

/// Encodes strings as a 1-D `<U` array.
pub fn encode_strings(values: &[String]) -> Vec<u8> {
    let width = values
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = header_bytes(&format!("<U{width}"), &[values.len()]);
    for s in values {
        let mut n = 0;
        for c in s.chars() {
            out.extend((c as u32).to_le_bytes());
            n += 1;
        }
        out.extend(std::iter::repeat_n(0u8, (width - n) * 4));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t.npy")
    }

    #[test]
    fn floats_round_trip_in_both_widths() {
        for dtype in [FloatType::F32, FloatType::F64] {
            let bytes = encode_floats(&[2, 3], dtype, &[1.0, 2.5, -3.0, 4.0, 5.0, 6.0]);
            assert_eq!(bytes.iter().position(|&b| b == b'\n').unwrap() % 64, 63);
            let parsed = parse(&bytes, p(), "data").unwrap();
            assert_eq!(
                parsed,
                NpyArray::Float {
                    shape: vec![2, 3],
                    dtype,
                    values: vec![1.0, 2.5, -3.0, 4.0, 5.0, 6.0]
                }
            );
        }
    }

    #[test]
    fn strings_round_trip() {
        let names = vec!["pt".to_string(), "η".to_string(), String::new()];
        let parsed = parse(&encode_strings(&names), p(), "names").unwrap();
        assert_eq!(
            parsed,
            NpyArray::Text {
                shape: vec![3],
                values: names
            }
        );
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        let mut bytes = encode_floats(&[2, 3], FloatType::F64, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let at = bytes.windows(5).position(|w| w == b"False").unwrap();
        bytes.splice(at..at + 5, *b"True ");
        let NpyArray::Float { values, .. } = parse(&bytes, p(), "data").unwrap() else {
            panic!()
        };
        assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn truncated_and_integer_arrays_are_refused_with_the_reason() {
        let bytes = encode_floats(&[4, 4], FloatType::F32, &[0.0; 16]);
        let err = parse(&bytes[..bytes.len() - 3], p(), "data")
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated") && err.contains("t.npy"), "{err}");
        let mut ints = bytes.clone();
        let at = ints.windows(3).position(|w| w == b"<f4").unwrap();
        ints.splice(at..at + 3, *b"<i4");
        let err = parse(&ints, p(), "data").unwrap_err().to_string();
        assert!(err.contains("<i4") && err.contains("float32"), "{err}");
        assert!(parse(b"garbage", p(), "data").is_err());
    }
}
