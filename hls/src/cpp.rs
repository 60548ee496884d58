//! Writing C++ for HLS: an indent-aware writer with blocks, and the HLS pragmas as a type, so a pragma is
//! spelled in one place (Vitis HLS 2022+, with the Vivado HLS spelling where the two differ).

use std::fmt;

/// An `#pragma HLS …` line.
#[derive(Clone, Debug, PartialEq)]
pub enum Pragma {
    /// `PIPELINE II=n` on a loop or function.
    Pipeline {
        /// Initiation interval in cycles.
        ii: usize,
    },
    /// `UNROLL` of the loop it is in.
    Unroll,
    /// `INLINE off`: keep the function as its own block.
    InlineOff,
    /// `DATAFLOW`: the calls in the function run as concurrent processes.
    Dataflow,
    /// `ARRAY_PARTITION complete` of every dimension: one register per element.
    Partition(String),
    /// `ARRAY_PARTITION block`: a 1-D array cut into `factor` banks of consecutive elements.
    PartitionBlock {
        /// The array.
        variable: String,
        /// Number of banks.
        factor: usize,
    },
    /// `ARRAY_RESHAPE cyclic`: every `factor` consecutive elements of a 1-D array in one wide word.
    ReshapeCyclic {
        /// The array.
        variable: String,
        /// Elements per word.
        factor: usize,
    },
    /// `ARRAY_RESHAPE complete dim=…`: a dimension packed into one wide word.
    Reshape {
        /// The array.
        variable: String,
        /// The dimension (1-based).
        dim: usize,
    },
    /// A FIFO of the given depth.
    Stream {
        /// The stream.
        variable: String,
        /// Its depth in words.
        depth: usize,
    },
    /// A read-only array in block RAM (`bind_storage` in Vitis HLS, `RESOURCE` in Vivado HLS).
    RomInBram(String),
    /// Expected iteration counts, for the latency report of a loop with a run-time bound.
    Tripcount {
        /// Fewest iterations.
        min: usize,
        /// Most iterations.
        max: usize,
    },
    /// A port protocol.
    Interface(Interface),
}

/// Port protocols of the top-level functions.
#[derive(Clone, Debug, PartialEq)]
pub enum Interface {
    /// AXI4-Stream port.
    Axis(String),
    /// No block-level handshake: the core runs whenever data arrives.
    NoControl,
    /// AXI4 master port reading or writing memory, its address set through the control registers; Vitis HLS
    /// may widen it to 512-bit words.
    MAxi {
        /// The pointer argument.
        port: String,
        /// The AXI bundle (one per memory bank connection).
        bundle: String,
        /// Elements the C/RTL co-simulation's testbench passes (co-simulation only).
        depth: usize,
    },
    /// A register in the AXI4-Lite control interface (`return` = start/done).
    AxiLite(String),
}

impl fmt::Display for Pragma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pragma::Pipeline { ii } => write!(f, "#pragma HLS PIPELINE II={ii}"),
            Pragma::Unroll => f.write_str("#pragma HLS UNROLL"),
            Pragma::InlineOff => f.write_str("#pragma HLS INLINE off"),
            Pragma::Dataflow => f.write_str("#pragma HLS DATAFLOW"),
            Pragma::Partition(v) => {
                write!(f, "#pragma HLS ARRAY_PARTITION variable={v} complete dim=0")
            }
            Pragma::PartitionBlock { variable, factor } => write!(
                f,
                "#pragma HLS ARRAY_PARTITION variable={variable} block factor={factor} dim=1"
            ),
            Pragma::ReshapeCyclic { variable, factor } => write!(
                f,
                "#pragma HLS ARRAY_RESHAPE variable={variable} cyclic factor={factor} dim=1"
            ),
            Pragma::Reshape { variable, dim } => write!(
                f,
                "#pragma HLS ARRAY_RESHAPE variable={variable} complete dim={dim}"
            ),
            Pragma::Stream { variable, depth } => {
                write!(f, "#pragma HLS STREAM variable={variable} depth={depth}")
            }
            Pragma::RomInBram(v) => write!(
                f,
                "#ifdef __VITIS_HLS__\n#pragma HLS BIND_STORAGE variable={v} type=rom_1p impl=bram\n\
                 #else\n#pragma HLS RESOURCE variable={v} core=ROM_1P_BRAM\n#endif"
            ),
            Pragma::Tripcount { min, max } => {
                write!(f, "#pragma HLS LOOP_TRIPCOUNT min={min} max={max}")
            }
            Pragma::Interface(Interface::Axis(port)) => {
                write!(f, "#pragma HLS INTERFACE axis port={port}")
            }
            Pragma::Interface(Interface::NoControl) => {
                f.write_str("#pragma HLS INTERFACE ap_ctrl_none port=return")
            }
            Pragma::Interface(Interface::MAxi {
                port,
                bundle,
                depth,
            }) => {
                let head = format!(
                    "#pragma HLS INTERFACE m_axi port={port} offset=slave bundle={bundle} depth={depth}"
                );
                write!(
                    f,
                    "#ifdef __VITIS_HLS__\n{head} max_widen_bitwidth=512\n#else\n{head}\n#endif"
                )
            }
            Pragma::Interface(Interface::AxiLite(port)) => {
                write!(
                    f,
                    "#pragma HLS INTERFACE s_axilite port={port} bundle=control"
                )
            }
        }
    }
}

/// Builds C++ text with consistent indentation.
#[derive(Default)]
pub struct CppWriter {
    text: String,
    depth: usize,
}

impl CppWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// One line at the current indentation.
    pub fn line(&mut self, line: impl AsRef<str>) {
        let line = line.as_ref();
        if !line.is_empty() {
            self.text.push_str(&"    ".repeat(self.depth));
        }
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// An empty line.
    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    /// A `// …` comment line.
    pub fn comment(&mut self, text: impl AsRef<str>) {
        self.line(format!("// {}", text.as_ref()));
    }

    /// A pragma; preprocessor lines of it start in column 0.
    pub fn pragma(&mut self, pragma: Pragma) {
        for line in pragma.to_string().lines() {
            if line.starts_with("#pragma") {
                self.line(line);
            } else {
                self.text.push_str(line);
                self.text.push('\n');
            }
        }
    }

    /// `head {`, the body one level deeper, `}`.
    pub fn block(&mut self, head: impl AsRef<str>, body: impl FnOnce(&mut Self)) {
        self.block_then(head, "", body);
    }

    /// As [`Self::block`], with `tail` after the closing brace (`;` for a struct).
    pub fn block_then(&mut self, head: impl AsRef<str>, tail: &str, body: impl FnOnce(&mut Self)) {
        self.line(format!("{} {{", head.as_ref()));
        self.depth += 1;
        body(self);
        self.depth -= 1;
        self.line(format!("}}{tail}"));
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A C++ integer literal for a code (with `LL` where it does not fit an `int`).
pub fn int_literal(code: i64) -> String {
    if i32::try_from(code).is_ok() {
        code.to_string()
    } else if code == i64::MIN {
        "(-9223372036854775807LL - 1)".into()
    } else {
        format!("{code}LL")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_indent_and_pragmas_spell_out() {
        let mut w = CppWriter::new();
        w.block("void f(int x[4])", |w| {
            w.pragma(Pragma::Partition("x".into()));
            w.block("for (int i = 0; i < 4; i++)", |w| {
                w.pragma(Pragma::Unroll);
                w.line("x[i] = 0;");
            });
            w.pragma(Pragma::RomInBram("w".into()));
        });
        let text = w.finish();
        assert!(text.contains("    #pragma HLS ARRAY_PARTITION variable=x complete dim=0\n"));
        assert!(text.contains("        #pragma HLS UNROLL\n        x[i] = 0;\n    }\n"));
        assert!(text.contains("\n#ifdef __VITIS_HLS__\n    #pragma HLS BIND_STORAGE"));
        assert_eq!(int_literal(-5), "-5");
        assert_eq!(int_literal(1 << 40), "1099511627776LL");
    }
}
