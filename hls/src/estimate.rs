//! Estimate before synthesis: multipliers (zero and power-of-two weights removed), adders, weight storage,
//! pipeline depth, II and throughput of a design, and warnings for sizes known to blow up HLS runs.
//!
//! Counts are exact for the generated code; cycles come from a first-order timing model (the `T_*`
//! constants, UltraScale+ -2 class fabric) to be calibrated against csynth reports; see docs/hls.md.

use crate::design::{
    Convolution, HlsDesign, LayerDesign, LayerKind, Strategy, legal_reuse_factors, order_free,
};
use crate::partitions::{COMPLETE_LIMIT, complete_arrays};
use crate::tops::stream_layouts;
use serde::Serialize;

/// Delay of a multiply by a constant in a DSP48E2, ns.
const T_MUL_NS: f64 = 3.0;
/// Delay of one adder level: a base plus the carry chain per bit, ns.
const T_ADD_BASE_NS: f64 = 0.5;
const T_ADD_PER_BIT_NS: f64 = 0.02;
/// Extra delay of a saturating addition (overflow detect and select), ns.
const T_SATURATE_NS: f64 = 0.5;
/// Unroll or partition sizes beyond which HLS runs are known to take hours or run out of memory
/// (hls4ml's `config_array_partition -maximum_size` default).
const UNROLL_LIMIT: usize = 4096;

/// Resources of a known part.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PartResources {
    /// DSP slices.
    pub dsp: usize,
    /// 18 Kb block RAMs.
    pub bram18: usize,
}

/// DSP and BRAM counts of common parts, by part-name prefix (data sheets).
const PARTS: &[(&str, PartResources)] = &[
    (
        "xc7z020",
        PartResources {
            dsp: 220,
            bram18: 280,
        },
    ),
    (
        "xczu9eg",
        PartResources {
            dsp: 2520,
            bram18: 1824,
        },
    ),
    (
        "xcvu9p",
        PartResources {
            dsp: 6840,
            bram18: 4320,
        },
    ),
    (
        "xcu250",
        PartResources {
            dsp: 12288,
            bram18: 5376,
        },
    ),
    (
        "xcu200",
        PartResources {
            dsp: 6840,
            bram18: 4320,
        },
    ),
    (
        "xcu50",
        PartResources {
            dsp: 5952,
            bram18: 2688,
        },
    ),
    (
        "xcu280",
        PartResources {
            dsp: 9024,
            bram18: 4032,
        },
    ),
    (
        "xcu55c",
        PartResources {
            dsp: 9024,
            bram18: 4032,
        },
    ),
];

/// Resources of `part`, if it is one of the parts the estimate knows.
pub fn part_resources(part: &str) -> Option<PartResources> {
    PARTS
        .iter()
        .find(|(prefix, _)| part.starts_with(prefix))
        .map(|&(_, r)| r)
}

/// The estimate of one dense layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerEstimate {
    /// Layer number in the design (1-based).
    pub layer: usize,
    /// `inputs×outputs`.
    pub shape: String,
    /// How it is built: `latency`, `resource/RF`, `conv/RF` or `conv-transp/RF`.
    pub implementation: String,
    /// Products the layer computes per frame (`inputs · outputs`).
    pub products: usize,
    /// Weights that are zero (no hardware).
    pub zero_weights: usize,
    /// Weights `±2^k`: a shift instead of a multiplier (latency strategy only; ROM weights need multipliers).
    pub shift_weights: usize,
    /// Multiplier instances.
    pub multipliers: usize,
    /// DSP48E2 slices if every multiplier maps to DSPs (27×18 each); an upper bound, since HLS maps narrow
    /// constant products to LUTs.
    pub dsp: usize,
    /// Adder instances.
    pub adders: usize,
    /// Bits of the weights the hardware keeps (non-zero ones for constants in logic, all in a ROM).
    pub weight_bits: u64,
    /// Where the weights live: "logic" (constants) or "bram".
    pub weight_storage: &'static str,
    /// 18 Kb BRAMs of the weight ROM.
    pub bram18: usize,
    /// Initiation interval, cycles.
    pub ii: usize,
    /// Pipeline depth, cycles.
    pub latency_cycles: usize,
}

/// II and latency of a top level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopEstimate {
    /// Cycles between frames.
    pub ii: usize,
    /// Cycles from the first input beat or word to the last output.
    pub latency_cycles: usize,
    /// Frames per second at the target clock.
    pub frames_per_second: f64,
}

/// The estimate of a design.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesignEstimate {
    /// The design's name.
    pub name: String,
    /// Target clock, MHz.
    pub clock_mhz: f64,
    /// The part.
    pub part: String,
    /// Its resources, when known.
    pub part_resources: Option<PartResources>,
    /// Per layer.
    pub layers: Vec<LayerEstimate>,
    /// Multiplier instances of all layers.
    pub multipliers: usize,
    /// DSP48E2 upper bound.
    pub dsp: usize,
    /// Adders.
    pub adders: usize,
    /// 18 Kb BRAMs of weight ROMs.
    pub bram18: usize,
    /// Weight bits kept in hardware.
    pub weight_bits: u64,
    /// The network function alone (frames in and out as whole vectors).
    pub network: TopEstimate,
    /// The AXI4-Stream IP core (frames in beats).
    pub ip: TopEstimate,
    /// The Vitis kernel: one code per cycle through each m_axi port (memory latency not included).
    pub kernel: TopEstimate,
    /// Sizes known to make HLS runs take hours, run out of memory or overflow the part.
    pub warnings: Vec<String>,
}

impl DesignEstimate {
    /// One line: multipliers, DSPs, BRAMs, latency, II and throughput.
    pub fn summary(&self) -> String {
        let ns = 1000.0 / self.clock_mhz;
        format!(
            "{} multipliers (≤ {} DSP48E2), {} adders, {} BRAM18; network latency {} cycles ({:.0} ns), \
             II {} ({:.2} M frames/s at {} MHz); IP core II {}, latency {} cycles",
            self.multipliers,
            self.dsp,
            self.adders,
            self.bram18,
            self.network.latency_cycles,
            self.network.latency_cycles as f64 * ns,
            self.network.ii,
            self.network.frames_per_second / 1e6,
            self.clock_mhz,
            self.ip.ii,
            self.ip.latency_cycles
        )
    }

    /// The terminal table: a row per layer, totals, tops and warnings.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}: estimate at {} MHz on {}\n{:<6} {:<13} {:<15} {:>8} {:>6} {:>6} {:>8} {:>7} {:>9} {:>16} {:>5} {:>8}\n",
            self.name,
            self.clock_mhz,
            self.part,
            "layer",
            "shape",
            "kind",
            "products",
            "zero",
            "shift",
            "mult",
            "DSP≤",
            "adders",
            "weights",
            "II",
            "latency"
        );
        for l in &self.layers {
            out.push_str(&format!(
                "{:<6} {:<13} {:<15} {:>8} {:>6} {:>6} {:>8} {:>7} {:>9} {:>16} {:>5} {:>8}\n",
                l.layer,
                l.shape,
                l.implementation,
                l.products,
                l.zero_weights,
                l.shift_weights,
                l.multipliers,
                l.dsp,
                l.adders,
                format!("{} b {}", l.weight_bits, l.weight_storage),
                l.ii,
                l.latency_cycles
            ));
        }
        let percent = |used: usize, total: usize| {
            format!(" ({:.1} % of the part)", 100.0 * used as f64 / total as f64)
        };
        let (dsp_share, bram_share) = match self.part_resources {
            Some(p) => (percent(self.dsp, p.dsp), percent(self.bram18, p.bram18)),
            None => (String::new(), String::new()),
        };
        out.push_str(&format!(
            "total: {} multipliers, ≤ {} DSP48E2{dsp_share}, {} adders, {} BRAM18{bram_share}, {} weight bits\n",
            self.multipliers, self.dsp, self.adders, self.bram18, self.weight_bits
        ));
        for (what, t) in [
            ("network", &self.network),
            ("IP core (AXI4-Stream)", &self.ip),
            ("kernel (m_axi)", &self.kernel),
        ] {
            out.push_str(&format!(
                "{what}: II {} cycles, latency {} cycles ({:.0} ns), {:.3} M frames/s\n",
                t.ii,
                t.latency_cycles,
                t.latency_cycles as f64 * 1000.0 / self.clock_mhz,
                t.frames_per_second / 1e6
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}

fn is_power_of_two_code(code: i64) -> bool {
    code != 0 && code.unsigned_abs().is_power_of_two()
}

/// DSP48E2 slices for an `a × b`-bit product (27×18 per slice).
fn dsp_per_product(a: u32, b: u32) -> usize {
    let (big, small) = (a.max(b) as usize, a.min(b) as usize);
    big.div_ceil(27) * small.div_ceil(18)
}

/// 18 Kb BRAMs for a ROM of `depth` words of `width` bits (the best of the BRAM18 aspect ratios).
fn bram18_for(depth: usize, width: usize) -> usize {
    [
        (512, 36),
        (1024, 18),
        (2048, 9),
        (4096, 4),
        (8192, 2),
        (16384, 1),
    ]
    .into_iter()
    .map(|(d, w)| depth.div_ceil(d) * width.div_ceil(w))
    .min()
    .unwrap_or(0)
}

/// Delay of one adder level of a `width`-bit accumulator, ns (the timing model's; the RTL backend packs its
/// pipeline stages with it too).
pub(crate) fn adder_level_ns(width: u32, saturating: bool) -> f64 {
    T_ADD_BASE_NS + T_ADD_PER_BIT_NS * width as f64 + if saturating { T_SATURATE_NS } else { 0.0 }
}

/// Cycles for `levels` adder levels of a `width`-bit accumulator.
fn adder_cycles(levels: usize, width: u32, saturating: bool, period_ns: f64) -> usize {
    (levels as f64 * adder_level_ns(width, saturating) / period_ns).ceil() as usize
}

/// Multipliers, shift weights, adders, products added per output value per step, weight bits, BRAM18.
struct Hardware {
    multipliers: usize,
    shifts: usize,
    terms: usize,
    weight_bits: u64,
    bram18: usize,
}

fn dense_hardware(l: &LayerDesign) -> Hardware {
    let weights = &l.fixed.weights;
    let width = l.fixed.weight.width as usize;
    match l.strategy {
        Strategy::Latency => {
            let nonzero = weights.iter().filter(|&&c| c != 0).count();
            let shifts = weights.iter().filter(|&&c| is_power_of_two_code(c)).count();
            let terms = (0..l.outputs)
                .map(|o| (0..l.inputs).filter(|&i| l.weight(i, o) != 0).count())
                .max()
                .unwrap_or(0);
            Hardware {
                multipliers: nonzero - shifts,
                shifts,
                terms,
                weight_bits: (nonzero * width) as u64,
                bram18: 0,
            }
        }
        Strategy::Resource => {
            // a lane needs hardware unless its weight is zero in every step
            let steps: Vec<Vec<(usize, usize)>> = (0..l.steps()).map(|r| l.step_lanes(r)).collect();
            let live = (0..l.lanes())
                .filter(|&lane| steps.iter().any(|s| l.weight(s[lane].0, s[lane].1) != 0))
                .count();
            let bram18 = if l.steps() > 1 {
                bram18_for(l.steps(), l.lanes() * width)
            } else {
                0
            };
            Hardware {
                multipliers: live,
                shifts: 0,
                terms: l.lanes().div_ceil(l.outputs).max(1),
                weight_bits: (weights.len() * width) as u64,
                bram18,
            }
        }
    }
}

fn conv_hardware(l: &LayerDesign, c: Convolution) -> Hardware {
    let width = l.fixed.weight.width as usize;
    let (ic_n, oc_n, n, rf) = (c.input[0], c.output[0], c.kernel, l.reuse_factor);
    // a tap needs a multiplier unless its weight is zero for every output channel
    let live = (0..ic_n)
        .flat_map(|ic| (0..n).flat_map(move |ky| (0..n).map(move |kx| (ic, ky, kx))))
        .filter(|&(ic, ky, kx)| {
            (0..oc_n).any(|oc| l.fixed.weights[c.model_index(oc, ic, ky, kx)] != 0)
        })
        .count();
    // every iteration computes `oc_n / rf` channels: that many multipliers per live tap
    let block = oc_n / rf;
    Hardware {
        multipliers: live * block,
        shifts: 0,
        terms: live,
        weight_bits: (l.fixed.weights.len() * width) as u64,
        bram18: if rf > 1 {
            bram18_for(rf, block * c.taps() * width)
        } else {
            0
        },
    }
}

/// Products a convolution computes per frame (taps that fall inside the input).
fn conv_products(c: Convolution) -> usize {
    let [ic_n, h, w] = c.input;
    let [oc_n, oh, ow] = c.output;
    let rows: usize = (0..oh)
        .map(|o| {
            (0..c.kernel)
                .filter(|&k| c.source(o, k, h).is_some())
                .count()
        })
        .sum();
    let cols: usize = (0..ow)
        .map(|o| {
            (0..c.kernel)
                .filter(|&k| c.source(o, k, w).is_some())
                .count()
        })
        .sum();
    oc_n * ic_n * rows * cols
}

fn layer_estimate(k: usize, l: &LayerDesign, period_ns: f64) -> LayerEstimate {
    let zero_weights = l.fixed.weights.iter().filter(|&&c| c == 0).count();
    let saturating = !order_free(l.fixed.accum);
    let hw = match l.kind {
        LayerKind::Dense => dense_hardware(l),
        LayerKind::Conv(c) => conv_hardware(l, c),
    };
    let has_bias = l.fixed.biases.iter().any(|&b| b != 0);
    let operands = hw.terms + has_bias as usize;
    let levels = if saturating {
        operands.saturating_sub(1)
    } else {
        (operands.max(1) as f64).log2().ceil() as usize
    };
    let mult_cycles = if hw.multipliers > 0 {
        (T_MUL_NS / period_ns).ceil() as usize
    } else {
        0
    };
    let sum_cycles = adder_cycles(levels, l.fixed.accum.width, saturating, period_ns).max(1);
    // the result conversion and activation take the output register's cycle
    let depth = mult_cycles + sum_cycles + 1;
    let (implementation, shape, products, ii) = match (l.kind, l.strategy) {
        (LayerKind::Conv(c), _) => (
            format!(
                "{}/{}",
                if c.transposed { "conv-transp" } else { "conv" },
                l.reuse_factor
            ),
            format!(
                "{}→{} {}×{}",
                c.input[0], c.output[0], c.output[1], c.output[2]
            ),
            conv_products(c),
            c.frame_cycles(l.reuse_factor),
        ),
        (LayerKind::Dense, Strategy::Latency) => (
            "latency".to_string(),
            format!("{}×{}", l.inputs, l.outputs),
            l.inputs * l.outputs,
            1,
        ),
        (LayerKind::Dense, Strategy::Resource) => (
            format!("resource/{}", l.reuse_factor),
            format!("{}×{}", l.inputs, l.outputs),
            l.inputs * l.outputs,
            l.steps(),
        ),
    };
    LayerEstimate {
        layer: k,
        shape,
        implementation,
        products,
        zero_weights,
        shift_weights: hw.shifts,
        multipliers: hw.multipliers,
        dsp: hw.multipliers * dsp_per_product(l.input.width, l.fixed.weight.width),
        adders: hw.multipliers + hw.shifts,
        weight_bits: hw.weight_bits,
        weight_storage: if hw.bram18 > 0 { "bram" } else { "logic" },
        bram18: hw.bram18,
        ii,
        latency_cycles: ii - 1 + depth,
    }
}

fn top(ii: usize, latency_cycles: usize, clock_mhz: f64) -> TopEstimate {
    TopEstimate {
        ii,
        latency_cycles,
        frames_per_second: clock_mhz * 1e6 / ii as f64,
    }
}

/// Estimates `design` before synthesis.
pub fn estimate(design: &HlsDesign) -> DesignEstimate {
    let config = &design.config;
    let period_ns = 1000.0 / config.clock_mhz;
    let layers: Vec<LayerEstimate> = design
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| layer_estimate(i + 1, l, period_ns))
        .collect();
    let ii = layers.iter().map(|l| l.ii).max().unwrap_or(1);
    // DATAFLOW adds a FIFO or ping-pong hop per layer; one pipeline only registers the input
    let hops = if design.dataflow() { layers.len() } else { 1 };
    let network_latency = layers.iter().map(|l| l.latency_cycles).sum::<usize>() + hops;
    let (beats_in, beats_out) = {
        let (i, o) = stream_layouts(design);
        (i.beats, o.beats)
    };
    let ip = top(
        ii.max(beats_in).max(beats_out),
        beats_in + network_latency + beats_out,
        config.clock_mhz,
    );
    let kernel = top(
        ii.max(design.inputs).max(design.outputs()),
        design.inputs + network_latency + design.outputs(),
        config.clock_mhz,
    );
    let part_resources = part_resources(&config.part);
    let mut estimate = DesignEstimate {
        name: config.name.clone(),
        clock_mhz: config.clock_mhz,
        part: config.part.clone(),
        part_resources,
        multipliers: layers.iter().map(|l| l.multipliers).sum(),
        dsp: layers.iter().map(|l| l.dsp).sum(),
        adders: layers.iter().map(|l| l.adders).sum(),
        bram18: layers.iter().map(|l| l.bram18).sum(),
        weight_bits: layers.iter().map(|l| l.weight_bits).sum(),
        network: top(ii, network_latency, config.clock_mhz),
        ip,
        kernel,
        layers,
        warnings: Vec::new(),
    };
    estimate.warnings = warnings(design, &estimate);
    estimate
}

fn warnings(design: &HlsDesign, estimate: &DesignEstimate) -> Vec<String> {
    let mut warnings = Vec::new();
    for (l, e) in design.layers.iter().zip(&estimate.layers) {
        let unrolled = match l.kind {
            LayerKind::Dense => l.lanes(),
            LayerKind::Conv(c) => c.taps() * c.output[0] / l.reuse_factor,
        };
        if unrolled > UNROLL_LIMIT {
            let suggestion = match l.kind {
                LayerKind::Dense => legal_reuse_factors(l.inputs, l.outputs)
                    .into_iter()
                    .find(|rf| l.inputs * l.outputs / rf <= UNROLL_LIMIT)
                    .map(|rf| format!("; --strategy resource with reuse factor {rf} or more keeps it under {UNROLL_LIMIT}"))
                    .unwrap_or_default(),
                LayerKind::Conv(c) => format!(
                    "; a reuse factor of {} or more (--strategy resource) keeps it under {UNROLL_LIMIT}",
                    (1..=c.output[0])
                        .filter(|d| c.output[0].is_multiple_of(*d))
                        .find(|d| c.taps() * c.output[0] / d <= UNROLL_LIMIT)
                        .unwrap_or(c.output[0])
                ),
            };
            warnings.push(format!(
                "layer {}: {unrolled} multiplies unrolled into one pipeline stage (more than {UNROLL_LIMIT}): HLS runs at this \
                 size are known to take hours or run out of memory{suggestion}",
                e.layer
            ));
        }
        if e.bram18 > 0 && l.kind == LayerKind::Dense {
            let fill = e.weight_bits as f64 / (e.bram18 as f64 * 18432.0);
            if fill < 0.25 {
                warnings.push(format!(
                    "layer {}: its weight ROM of {} words fills {} BRAM18 to {:.0} %; a larger reuse factor uses block RAM better",
                    e.layer,
                    l.steps(),
                    e.bram18,
                    100.0 * fill
                ));
            }
        }
        let terms = match l.kind {
            LayerKind::Dense => l.inputs,
            LayerKind::Conv(c) => c.taps(),
        };
        if !order_free(l.fixed.accum) && terms > 16 {
            warnings.push(format!(
                "layer {}: the saturating accumulator {} fixes the order of {} additions, so they form a chain rather than \
                 an adder tree ({} cycles); a wrapping accumulator that cannot overflow (what `baler quantize` chooses) allows a tree",
                e.layer, l.fixed.accum, terms, e.latency_cycles
            ));
        }
    }
    for (array, values) in complete_arrays(design) {
        if values > COMPLETE_LIMIT {
            warnings.push(format!(
                "the network's array {array} of {values} values is completely partitioned (registers), which II 1 needs: \
                 above {COMPLETE_LIMIT} HLS runs are known to be slow (run_hls.tcl raises Vivado HLS's \
                 config_array_partition -maximum_size to fit it)"
            ));
        }
    }
    for (what, values, format) in [
        ("input", design.inputs, design.input),
        ("output", design.outputs(), design.output()),
    ] {
        let bits = values * format.width as usize;
        if bits > UNROLL_LIMIT {
            warnings.push(format!(
                "the {what} frame travels between the top level and the network as one {bits}-bit FIFO word (registers)"
            ));
        }
    }
    if let Some(p) = estimate.part_resources {
        if estimate.dsp > p.dsp {
            warnings.push(format!(
                "up to {} DSP48E2 if every multiplier maps to DSPs; {} has {}: use the resource strategy with larger reuse factors",
                estimate.dsp, estimate.part, p.dsp
            ));
        }
        if estimate.bram18 > p.bram18 {
            warnings.push(format!(
                "{} BRAM18 for weight ROMs; {} has {}",
                estimate.bram18, estimate.part, p.bram18
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsp_and_bram_counts() {
        assert_eq!(dsp_per_product(16, 16), 1);
        assert_eq!(dsp_per_product(27, 18), 1);
        assert_eq!(dsp_per_product(28, 18), 2);
        assert_eq!(dsp_per_product(32, 32), 4);
        assert_eq!(bram18_for(4, 12 * 500), 167);
        assert_eq!(bram18_for(1024, 18), 1);
        assert!(part_resources("xcu250-figd2104-2L-e").is_some());
        assert!(part_resources("xc9unknown").is_none());
    }
}
