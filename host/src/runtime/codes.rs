//! Frames as a kernel's buffers hold them: one fixed-point code per value, sign- or zero-extended to a C
//! integer type (`int16_t`, …), little-endian — what the C-simulated kernel and a card read and write.

use baler_core::fixed::FixedFormat;

/// The element type of a buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Element {
    /// Bytes per code.
    pub bytes: usize,
    /// Sign-extended (`intN_t`) rather than zero-extended (`uintN_t`).
    pub signed: bool,
}

impl Element {
    /// Parses `int16_t`, `uint8_t`, …
    pub fn parse(name: &str) -> Option<Element> {
        let signed = !name.starts_with('u');
        let bits: usize = name
            .trim_start_matches('u')
            .strip_prefix("int")?
            .strip_suffix("_t")?
            .parse()
            .ok()?;
        matches!(bits, 8 | 16 | 32 | 64).then_some(Element {
            bytes: bits / 8,
            signed,
        })
    }
}

/// How values become buffer bytes and back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CodeLayout {
    /// Format of the input values.
    pub input: FixedFormat,
    /// Element type of the input buffer.
    pub input_element: Element,
    /// Format of the output values.
    pub output: FixedFormat,
    /// Element type of the output buffer.
    pub output_element: Element,
}

impl CodeLayout {
    /// Writes the codes of `values` (converted as `ap_fixed` converts a double) into `bytes`.
    pub fn encode(&self, values: &[f64], bytes: &mut [u8]) {
        let n = self.input_element.bytes;
        for (value, slot) in values.iter().zip(bytes.chunks_exact_mut(n)) {
            let code = self.input.from_f64(*value) as i64;
            slot.copy_from_slice(&code.to_le_bytes()[..n]);
        }
    }

    /// The values of the output codes in `bytes`.
    pub fn decode(&self, bytes: &[u8]) -> Vec<f64> {
        let Element { bytes: n, signed } = self.output_element;
        bytes
            .chunks_exact(n)
            .map(|b| {
                let mut word = [0u8; 8];
                word[..n].copy_from_slice(b);
                let raw = u64::from_le_bytes(word);
                let code = if signed {
                    let shift = 64 - 8 * n as u32;
                    (((raw << shift) as i64) >> shift) as i128
                } else {
                    raw as i128
                };
                self.output.value_of(code)
            })
            .collect()
    }
}

/// A zeroed byte buffer of `len` bytes aligned for any element type.
pub fn aligned_bytes(len: usize) -> Vec<u64> {
    vec![0u64; len.div_ceil(8)]
}

/// The bytes of an aligned buffer.
pub fn as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirements; the length covers exactly the words.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_every_element_type() {
        for (format, element) in [
            ("ap_fixed<14,2>", "int16_t"),
            ("ap_ufixed<7,1>", "uint8_t"),
            ("ap_fixed<40,8>", "int64_t"),
        ] {
            let f: FixedFormat = format.parse().unwrap();
            let e = Element::parse(element).unwrap();
            let layout = CodeLayout {
                input: f,
                input_element: e,
                output: f,
                output_element: e,
            };
            let values = [f.min_value(), -0.5, 0.0, 0.25, f.max_value()];
            let mut buf = aligned_bytes(values.len() * e.bytes);
            let bytes = as_bytes_mut(&mut buf);
            layout.encode(&values, bytes);
            let back = layout.decode(&bytes[..values.len() * e.bytes]);
            let expected: Vec<f64> = values.iter().map(|&v| f.value_of(f.from_f64(v))).collect();
            assert_eq!(back, expected, "{format}");
        }
        assert_eq!(
            Element::parse("int32_t"),
            Some(Element {
                bytes: 4,
                signed: true
            })
        );
        assert_eq!(Element::parse("float"), None);
    }
}
