//! Property test: conversions from `double`, between formats, and of full-precision products and sums, in
//! random formats with every quantisation and overflow mode, compared bit for bit with the real `ap_fixed`.

mod common;

use baler_core::fixed::{Exact, FixedFormat, Overflow, Quantization};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;

const FORMATS: usize = 80;
const VALUES_PER_FORMAT: usize = 1500;

fn random_format(rng: &mut StdRng) -> FixedFormat {
    let width = if rng.random_bool(0.25) {
        rng.random_range(1..=64)
    } else {
        rng.random_range(1..=24)
    };
    let overflow = Overflow::ALL[rng.random_range(0..4)];
    FixedFormat {
        signed: rng.random_bool(0.7),
        width,
        int_bits: rng.random_range(-4..=width as i32 + 4),
        quantization: Quantization::ALL[rng.random_range(0..7)],
        overflow,
        saturation_bits: if overflow == Overflow::Wrap && rng.random_bool(0.4) {
            rng.random_range(1..=width)
        } else {
            0
        },
    }
}

/// Formats worth covering by name, then random ones.
fn formats(rng: &mut StdRng) -> Vec<FixedFormat> {
    let mut all: Vec<FixedFormat> = [
        "ap_fixed<18,8>",
        "ap_fixed<16,6,AP_RND,AP_SAT>",
        "ap_fixed<1,1,AP_RND_CONV,AP_SAT_SYM>",
        "ap_ufixed<1,0,AP_RND,AP_SAT>",
        "ap_fixed<64,64,AP_RND_INF,AP_SAT>",
        "ap_ufixed<64,32,AP_RND_ZERO,AP_WRAP,3>",
        "ap_fixed<64,1,AP_TRN_ZERO,AP_SAT_ZERO>",
        "ap_fixed<7,3,AP_RND_MIN_INF,AP_WRAP,1>",
        "ap_fixed<9,-2,AP_RND_CONV,AP_SAT_SYM>",
        "ap_ufixed<12,14,AP_RND,AP_WRAP,5>",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    while all.len() < FORMATS {
        all.push(random_format(rng));
    }
    all
}

/// A code anywhere in the format's range, often at or next to its edges.
fn random_code(rng: &mut StdRng, f: FixedFormat) -> i128 {
    let (lo, hi) = (f.min_code(), f.max_code());
    match rng.random_range(0..8) {
        0 => lo,
        1 => hi,
        2 => 0,
        3 => (lo + 1).min(hi),
        4 => (hi - 1).max(lo),
        _ => lo + (rng.random::<u128>() % ((hi - lo) as u128 + 1)) as i128,
    }
}

/// Doubles around the format's range: exact halves and quarters of a step, just out of range, random
/// magnitudes, and the special values.
fn random_double(rng: &mut StdRng, f: FixedFormat) -> f64 {
    let step = f.value_of(1);
    match rng.random_range(0..10) {
        0 => *[
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -f64::MAX,
            5e-324,
            -5e-324,
        ]
        .get(rng.random_range(0..10))
        .unwrap(),
        1..=4 => {
            let span = (f.max_code() - f.min_code()) as f64;
            let code = f.min_code() as f64 - span * 0.25 + rng.random::<f64>() * span * 1.5;
            (code.floor() + rng.random_range(0..8) as f64 / 8.0) * step
        }
        5 => (f.max_code() as f64 + rng.random_range(-2..=2) as f64 * 0.5) * step,
        6 => (f.min_code() as f64 + rng.random_range(-2..=2) as f64 * 0.5) * step,
        _ => {
            let magnitude = f64::from_bits(
                rng.random::<u64>() >> 12 | ((rng.random_range(-90i64..90) + 1023) as u64) << 52,
            );
            if rng.random_bool(0.5) {
                -magnitude
            } else {
                magnitude
            }
        }
    }
}

fn cpp_type(f: FixedFormat) -> String {
    f.to_string()
}

/// One C++ case: reads up to two 64-bit patterns, prints the result's bits.
struct Case {
    body: String,
    inputs: Vec<[u64; 2]>,
    expected: Vec<u128>,
}

fn set_bits(var: &str, f: FixedFormat, input: &str) -> String {
    format!(
        "{t} {var}; {var}.range({hi},0) = ap_uint<{w}>({input});",
        t = cpp_type(f),
        hi = f.width - 1,
        w = f.width
    )
}

fn print_bits(var: &str, f: FixedFormat) -> String {
    format!(
        "printf(\"%llx\\n\", (unsigned long long){var}.range({},0).to_uint64());",
        f.width - 1
    )
}

#[test]
fn conversions_products_and_sums_match_ap_fixed_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(0x0a9f_1ced);
    let formats = formats(&mut rng);
    let mut cases = Vec::new();

    // double → format
    for &f in &formats {
        let mut case = Case {
            body: format!(
                "double d; std::memcpy(&d, &a, 8); {t} y = d; {p}",
                t = cpp_type(f),
                p = print_bits("y", f)
            ),
            inputs: vec![],
            expected: vec![],
        };
        for _ in 0..VALUES_PER_FORMAT {
            let d = random_double(&mut rng, f);
            case.inputs.push([d.to_bits(), 0]);
            case.expected.push(f.to_bits(f.from_f64(d)));
        }
        cases.push(case);
    }
    // format → format
    for &to in &formats {
        let from = formats[rng.random_range(0..formats.len())];
        let mut case = Case {
            body: format!(
                "{} {t} y = x; {}",
                set_bits("x", from, "a"),
                print_bits("y", to),
                t = cpp_type(to)
            ),
            inputs: vec![],
            expected: vec![],
        };
        for _ in 0..VALUES_PER_FORMAT {
            let code = random_code(&mut rng, from);
            case.inputs.push([from.to_bits(code) as u64, 0]);
            case.expected.push(to.to_bits(to.convert(from.exact(code))));
        }
        cases.push(case);
    }
    // full-precision product and sum → format
    for (op, combine) in [
        ("*", Exact::checked_mul as fn(Exact, Exact) -> Option<Exact>),
        ("+", Exact::checked_add),
    ] {
        for &to in &formats {
            let (fa, fb) = loop {
                let fa = formats[rng.random_range(0..formats.len())];
                let fb = formats[rng.random_range(0..formats.len())];
                let widest =
                    |f: FixedFormat| f.exact(if f.signed { f.min_code() } else { f.max_code() });
                if combine(widest(fa), widest(fb)).is_some() {
                    break (fa, fb);
                }
            };
            let mut case = Case {
                body: format!(
                    "{} {} {t} y = x {op} z; {}",
                    set_bits("x", fa, "a"),
                    set_bits("z", fb, "b"),
                    print_bits("y", to),
                    t = cpp_type(to)
                ),
                inputs: vec![],
                expected: vec![],
            };
            for _ in 0..VALUES_PER_FORMAT {
                let (a, b) = (random_code(&mut rng, fa), random_code(&mut rng, fb));
                case.inputs
                    .push([fa.to_bits(a) as u64, fb.to_bits(b) as u64]);
                let exact = combine(fa.exact(a), fb.exact(b)).unwrap();
                case.expected.push(to.to_bits(to.convert(exact)));
            }
            cases.push(case);
        }
    }

    let mut source = String::from(
        "#include <ap_fixed.h>\n#include <cstdio>\n#include <cstring>\nint main() {\n  unsigned idx; unsigned long long a, b;\n  while (scanf(\"%u %llx %llx\", &idx, &a, &b) == 3) {\n    switch (idx) {\n",
    );
    let mut input = String::new();
    for (i, case) in cases.iter().enumerate() {
        writeln!(source, "    case {i}: {{ {} break; }}", case.body).unwrap();
        for [a, b] in &case.inputs {
            writeln!(input, "{i} {a:x} {b:x}").unwrap();
        }
    }
    source.push_str("    }\n  }\n  return 0;\n}\n");

    let output = common::compile_and_run("ap_fixed_arithmetic", &source, &input);
    let got: Vec<&str> = output.lines().collect();
    let total: usize = cases.iter().map(|c| c.inputs.len()).sum();
    assert_eq!(
        got.len(),
        total,
        "the harness printed {} of {total} results",
        got.len()
    );
    let mut mismatches = Vec::new();
    let mut line = 0;
    for (i, case) in cases.iter().enumerate() {
        for (input, expected) in case.inputs.iter().zip(&case.expected) {
            let cpp = u128::from_str_radix(got[line], 16).unwrap();
            if cpp != *expected {
                mismatches.push(format!(
                    "case {i} ({}), inputs {:x} {:x}: ap_fixed {cpp:x}, baler {expected:x}",
                    case.body, input[0], input[1]
                ));
            }
            line += 1;
        }
    }
    println!(
        "{total} randomised cases compared with ap_fixed, {} mismatches",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {total} cases differ from ap_fixed; first ones:\n{}",
        mismatches.len(),
        {
            let mut seen = std::collections::HashSet::new();
            mismatches
                .iter()
                .filter(|m| seen.insert(m.split(')').next().unwrap().to_owned()))
                .take(15)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        }
    );
}
