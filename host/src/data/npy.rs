//! Reader and writer for NumPy's `.npy` format (versions 1–3): float32/float64 arrays in either byte
//! order and memory layout, and fixed-width string arrays (`<U`, `|S`) for variable names.
//!
//! Hand-written rather than `npyz` or `ndarray-npy`, for reasons measured on 2026-11-26 (npyz 0.8.4 and
//! 0.9.1; both crates read the header with `py_literal`). Adding npyz turns on `memchr`'s `default`
//! feature in the build graph (through pest and pest_derive), and Cargo's feature unification then
//! rebuilds 85 units, bindgen, turso, cubecl and all of burn among them (`cargo +nightly test --workspace
//! --features baler/wgpu --no-run --unit-graph -Z unstable-options`, compared before and after). And npyz
//! trusts the header, read in its source: it allocates the declared header length (up to 4 GiB) before
//! the bytes are known to be there (`header::read_header`) and multiplies the shape unchecked
//! (`read::NpyHeader::from_parts`, a panic in debug and fuzz builds), so it would need every check below
//! in front of it anyway.
//!
//! The checks: the header is at most numpy's own reading limit and present in full; every number in it
//! is parsed into a checked integer; every product (element count, field size, item width × 4, count ×
//! item size) is checked; and nothing is allocated before the data it describes is known to be present.

use crate::error::{Error, Result};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The longest header read, in bytes: numpy's own default limit when it reads (`max_header_size`).
pub const MAX_HEADER_BYTES: usize = 10_000;

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

    /// `f32` or `f64`, as files and messages name it.
    pub fn name(self) -> &'static str {
        match self {
            FloatType::F32 => "f32",
            FloatType::F64 => "f64",
        }
    }

    /// Appends `values` as this type's little-endian bytes (what a file of this type holds).
    pub fn extend_le_bytes(self, out: &mut Vec<u8>, values: &[f64]) {
        out.reserve(values.len() * self.size());
        for &v in values {
            match self {
                FloatType::F32 => out.extend((v as f32).to_le_bytes()),
                FloatType::F64 => out.extend(v.to_le_bytes()),
            }
        }
    }

    /// Values from this type's little-endian bytes (a trailing partial value is ignored).
    pub fn from_le_bytes(self, bytes: &[u8]) -> Vec<f64> {
        match self {
            FloatType::F32 => floats(bytes, |b| f64::from(f32::from_le_bytes(b))),
            FloatType::F64 => floats(bytes, f64::from_le_bytes),
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

/// The three entries of a header, as numpy writes them.
struct Header<'a> {
    descr: &'a str,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// The element types read.
#[derive(Clone, Copy)]
pub(super) enum Element {
    Float(FloatType),
    /// UTF-32 code points, this many per string.
    Unicode(usize),
    /// Bytes, this many per string.
    Bytes(usize),
}

/// What a `.npy` file's first bytes say: where the data starts and what it holds.
pub(super) struct Prelude {
    /// Offset of the first data byte.
    pub start: usize,
    /// The dtype string as written.
    pub descr: String,
    pub element: Element,
    pub item_size: usize,
    /// Stored little-endian.
    pub little: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Product of `shape`.
    pub count: usize,
}

/// Parses the magic and header of a `.npy` file from its first bytes (at least through the header). Every claim
/// is checked before anything is sized by it.
pub(super) fn prelude(bytes: &[u8], path: &Path, array: &str) -> Result<Prelude> {
    let bad = |m: String| Error::malformed(path, format!("array '{array}': {m}"));
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy array (missing the \\x93NUMPY magic)".into()));
    }
    let start = match (bytes[6], bytes[7]) {
        (1, 0) => 10,
        (2, 0) | (3, 0) => 12,
        (major, minor) => {
            return Err(bad(format!(
                "unsupported .npy version {major}.{minor} (1.0, 2.0 and 3.0 are read)"
            )));
        }
    };
    let header_len = match bytes.get(8..start) {
        Some(&[a, b]) => usize::from(u16::from_le_bytes([a, b])),
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => return Err(bad("truncated header".into())),
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header of {header_len} bytes is longer than numpy's limit of {MAX_HEADER_BYTES}"
        )));
    }
    let present = bytes.len() - start;
    let text = bytes.get(start..start + header_len).ok_or_else(|| {
        bad(format!(
            "truncated header: {header_len} bytes declared, {present} present"
        ))
    })?;
    let text = std::str::from_utf8(text).map_err(|_| bad("header is not UTF-8 text".into()))?;
    let header = parse_header(text).map_err(|m| bad(format!("header: {m}")))?;
    let descr = header.descr;
    let element = element_type(descr).ok_or_else(|| Error::UnsupportedDtype {
        path: path.into(),
        array: array.into(),
        dtype: descr.into(),
    })?;
    let item_size = match element {
        Element::Float(dtype) => dtype.size(),
        Element::Unicode(0) | Element::Bytes(0) => {
            return Err(bad(format!("zero-width dtype '{descr}'")));
        }
        Element::Unicode(n) => n
            .checked_mul(4)
            .ok_or_else(|| bad(format!("dtype '{descr}' has items larger than memory")))?,
        Element::Bytes(n) => n,
    };
    let shape = header.shape;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} has more elements than memory")))?;
    Ok(Prelude {
        start: start + header_len,
        descr: descr.to_string(),
        element,
        item_size,
        little: !descr.starts_with('>'),
        fortran_order: header.fortran_order,
        shape,
        count,
    })
}

/// Parses the bytes of a `.npy` file; `path` and `array` name it in errors. Every claim of the header is
/// checked against the bytes present before anything is sized by it.
pub fn parse(bytes: &[u8], path: &Path, array: &str) -> Result<NpyArray> {
    let bad = |m: String| Error::malformed(path, format!("array '{array}': {m}"));
    let Prelude {
        start,
        descr,
        element,
        item_size,
        little,
        fortran_order,
        shape,
        count,
    } = prelude(bytes, path, array)?;
    let data = &bytes[start..];
    let data = match count.checked_mul(item_size) {
        Some(needed) if needed <= data.len() => &data[..needed],
        needed => {
            let needed = needed.map_or("more than usize::MAX".into(), |n| n.to_string());
            return Err(bad(format!(
                "truncated: shape {shape:?} of '{descr}' needs {needed} bytes of data but {} are present",
                data.len()
            )));
        }
    };
    let array = match element {
        Element::Float(dtype) => NpyArray::Float {
            values: match (dtype, little) {
                (FloatType::F32, true) => floats(data, |b| f64::from(f32::from_le_bytes(b))),
                (FloatType::F32, false) => floats(data, |b| f64::from(f32::from_be_bytes(b))),
                (FloatType::F64, true) => floats(data, f64::from_le_bytes),
                (FloatType::F64, false) => floats(data, f64::from_be_bytes),
            },
            shape,
            dtype,
        },
        Element::Unicode(_) => NpyArray::Text {
            values: data
                .chunks_exact(item_size)
                .map(|item| {
                    item.as_chunks::<4>()
                        .0
                        .iter()
                        .map(|&u| {
                            let code = if little {
                                u32::from_le_bytes(u)
                            } else {
                                u32::from_be_bytes(u)
                            };
                            char::from_u32(code).ok_or_else(|| {
                                bad(format!("invalid character U+{code:X} in a string"))
                            })
                        })
                        .collect::<Result<String>>()
                        .map(|s| s.trim_end_matches('\0').to_string())
                })
                .collect::<Result<_>>()?,
            shape,
        },
        Element::Bytes(_) => NpyArray::Text {
            values: data
                .chunks_exact(item_size)
                .map(|c| {
                    String::from_utf8_lossy(c)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect(),
            shape,
        },
    };
    Ok(if fortran_order {
        to_c_order(array)
    } else {
        array
    })
}

/// Decodes `N`-byte floats, widened to f64.
fn floats<const N: usize>(data: &[u8], decode: impl Fn([u8; N]) -> f64) -> Vec<f64> {
    data.as_chunks::<N>().0.iter().map(|&b| decode(b)).collect()
}

/// The element type of a simple dtype string (`<f4`, `>f8`, `<U12`, `|S7`); `None` for others.
fn element_type(descr: &str) -> Option<Element> {
    let mut chars = descr.chars();
    if !matches!(chars.next()?, '<' | '>' | '|' | '=') {
        return None;
    }
    let kind = chars.next()?;
    let width = chars.as_str();
    if width.is_empty() || !width.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let width: usize = width.parse().ok()?;
    match (kind, width) {
        ('f', 4) => Some(Element::Float(FloatType::F32)),
        ('f', 8) => Some(Element::Float(FloatType::F64)),
        ('U', n) => Some(Element::Unicode(n)),
        ('S', n) => Some(Element::Bytes(n)),
        _ => None,
    }
}

/// Parses the header dict numpy writes, `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
/// (keys in any order, either quote, trailing commas, spaces and a final newline), refusing anything
/// else. Every dimension is parsed into a checked `usize`.
fn parse_header(text: &str) -> std::result::Result<Header<'_>, String> {
    let mut at = Cursor { text, pos: 0 };
    at.expect('{')?;
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    while !at.eat('}') {
        let key = at.string()?;
        at.expect(':')?;
        let repeated = match key {
            "descr" => {
                if at.peek() == Some('[') {
                    return Err(
                        "descr is not a simple dtype string (structured arrays are not supported)"
                            .into(),
                    );
                }
                descr.replace(at.string()?).is_some()
            }
            "fortran_order" => {
                let value = match at.word() {
                    "True" => true,
                    "False" => false,
                    other => return Err(format!("fortran_order is '{other}', not True or False")),
                };
                fortran_order.replace(value).is_some()
            }
            "shape" => shape.replace(at.dimensions()?).is_some(),
            other => return Err(format!("unexpected key '{other}'")),
        };
        if repeated {
            return Err(format!("the key '{key}' appears twice"));
        }
        if !at.eat(',') {
            at.expect('}')?;
            break;
        }
    }
    if !at.rest().trim().is_empty() {
        return Err("text after the closing brace".into());
    }
    let missing = |key: &str| format!("lacks '{key}'");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// A position in the header text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// The next character after spaces.
    fn peek(&mut self) -> Option<char> {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    fn expect(&mut self, c: char) -> std::result::Result<(), String> {
        if self.eat(c) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(found) => format!("expected '{c}' at byte {}, found '{found}'", self.pos),
            None => format!("expected '{c}' at byte {}, found the end", self.pos),
        })
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> std::result::Result<&'a str, String> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.pos)),
        };
        let body = &self.rest()[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| format!("unterminated string at byte {}", self.pos))?;
        let value = &body[..end];
        if value.contains('\\') {
            return Err(format!("escapes in the string '{value}' are not supported"));
        }
        self.pos += end + 2;
        Ok(value)
    }

    /// A run of letters, digits and underscores.
    fn word(&mut self) -> &'a str {
        self.peek();
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    /// A tuple (or list) of non-negative integers, Python 2's `L` suffix allowed.
    fn dimensions(&mut self) -> std::result::Result<Vec<usize>, String> {
        let close = match self.peek() {
            Some('(') => ')',
            Some('[') => ']',
            _ => return Err(format!("shape is not a tuple (byte {})", self.pos)),
        };
        self.pos += 1;
        let mut dims = Vec::new();
        while !self.eat(close) {
            let word = self.word();
            let digits = word.strip_suffix('L').unwrap_or(word);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                let rest = self
                    .rest()
                    .split([',', ')', ']'])
                    .next()
                    .unwrap_or_default();
                return Err(format!("bad dimension '{word}{rest}' in the shape"));
            }
            dims.push(
                digits
                    .parse::<usize>()
                    .map_err(|_| format!("dimension {digits} does not fit in memory"))?,
            );
            if !self.eat(',') {
                self.expect(close)?;
                break;
            }
        }
        Ok(dims)
    }
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
    let mut out = float_header(shape, dtype);
    dtype.extend_le_bytes(&mut out, values);
    out
}

/// The magic and header of a little-endian float array of `shape`: the bytes before its values.
pub fn float_header(shape: &[usize], dtype: FloatType) -> Vec<u8> {
    let descr = match dtype {
        FloatType::F32 => "<f4",
        FloatType::F64 => "<f8",
    };
    header_bytes(descr, shape)
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

    /// A `.npy` file of `version` with the given header text and payload.
    fn with_header(version: u8, header: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(payload);
        out
    }

    #[test]
    fn big_endian_versions_2_and_3_and_byte_strings_are_read() {
        let payload: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        for version in [1, 2, 3] {
            let header = "{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }   \n";
            let parsed = parse(&with_header(version, header, &payload), p(), "data").unwrap();
            assert_eq!(
                parsed,
                NpyArray::Float {
                    shape: vec![1, 2],
                    dtype: FloatType::F64,
                    values: vec![1.5, -2.0]
                },
                "version {version}"
            );
        }
        let payload: Vec<u8> = [0.25f32, 8.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let header = "{\"shape\": [2L], \"fortran_order\": False, \"descr\": \">f4\"}\n";
        let NpyArray::Float { values, dtype, .. } =
            parse(&with_header(1, header, &payload), p(), "data").unwrap()
        else {
            panic!("floats expected")
        };
        assert_eq!((values, dtype), (vec![0.25, 8.0], FloatType::F32));
        let header = "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }\n";
        let parsed = parse(&with_header(3, header, b"pt\0eta"), p(), "names").unwrap();
        assert_eq!(
            parsed,
            NpyArray::Text {
                shape: vec![2],
                values: vec!["pt".into(), "eta".into()]
            }
        );
    }

    #[test]
    fn malformed_headers_are_refused_naming_file_and_array() {
        let f4 =
            |shape: &str| format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                with_header(1, &f4("(1,)"), &[0; 4])[..11].to_vec(),
                "truncated header",
            ),
            (
                with_header(4, &f4("(1,)"), &[0; 4]),
                "unsupported .npy version 4.0",
            ),
            (
                with_header(
                    2,
                    &format!("{}{}", f4("(1,)"), " ".repeat(MAX_HEADER_BYTES)),
                    &[0; 4],
                ),
                "longer than numpy's limit",
            ),
            (with_header(1, &f4("(-1,)"), &[]), "bad dimension '-1'"),
            (
                with_header(1, &f4("(99999999999999999999999,)"), &[]),
                "does not fit",
            ),
            (
                with_header(1, &f4("(4294967296, 4294967296, 2)"), &[]),
                "more elements than memory",
            ),
            (
                with_header(
                    1,
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}",
                    &[0; 4],
                ),
                "'shape' appears twice",
            ),
            (
                with_header(
                    1,
                    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                    &[0; 4],
                ),
                "structured arrays",
            ),
            (
                with_header(
                    1,
                    "{'descr': '<f4', 'fortran_order': 1, 'shape': (1,)}",
                    &[0; 4],
                ),
                "not True or False",
            ),
            (
                with_header(1, "{'descr': '<f4', 'shape': (1,)}", &[0; 4]),
                "lacks 'fortran_order'",
            ),
            (
                with_header(1, &f4("(3,)"), &[0; 11]),
                "needs 12 bytes of data but 11",
            ),
            (
                with_header(
                    1,
                    "{'descr': '<U0', 'fortran_order': False, 'shape': (100000000000,)}",
                    &[],
                ),
                "zero-width dtype",
            ),
        ];
        for (bytes, needle) in cases {
            let err = parse(&bytes, p(), "data").unwrap_err().to_string();
            assert!(
                err.contains(needle) && err.starts_with("t.npy: array 'data'"),
                "{needle}: {err}"
            );
        }
    }
}
