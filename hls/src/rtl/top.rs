//! The two tops of the Verilog design: the network (layers in a row, a valid bit travelling beside the data)
//! and the AXI4-Stream IP core around it (frames in beats laid out as `baler hls` lays them out, TLAST and
//! TKEEP checked with a count of bad frames, back-pressure through an output FIFO the input may never overrun).

use super::dense::LayerFigures;
use crate::design::HlsDesign;
use crate::tops::StreamLayout;
use std::fmt::Write;

/// Bits to count `0..n` (at least 1).
pub fn clog2(n: usize) -> usize {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1) as usize
}

/// `<name>_network`: the layers in a row and the valid pipe through them; a layer with a reuse factor starts a
/// frame when the valid bit reaches it.
pub fn network_module(d: &HlsDesign, layers: &[LayerFigures]) -> String {
    let name = &d.config.name;
    let latency: usize = layers.iter().map(|l| l.latency).sum();
    let ii = layers.iter().map(|l| l.reuse_factor).max().unwrap_or(1);
    let (wi, wo) = (d.input.width as usize, d.output().width as usize);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "// {name}: {} dense layers, a frame every {ii} cycle(s), latency {latency} cycles. The data path has no\n\
         // reset and no enable; a valid bit travels beside it.\n\
         module {name}_network (\n  input wire clk,\n  input wire rst_n,\n  input wire in_valid,\n  \
         input wire [{}:0] in_codes,\n  output wire out_valid,\n  output wire [{}:0] out_codes\n);\n  \
         reg [{}:0] valid_pipe;\n  always @(posedge clk)\n    \
         valid_pipe <= rst_n ? {{valid_pipe[{}:0], in_valid}} : {latency}'d0;",
        d.layers.len(),
        d.inputs * wi - 1,
        d.outputs() * wo - 1,
        latency - 1,
        latency - 2,
    );
    let mut previous = "in_codes".to_string();
    let mut offset = 0;
    for (l, figures) in d.layers.iter().zip(layers) {
        let k = figures.layer;
        let start = match (figures.reuse_factor, offset) {
            (1, _) => String::new(),
            (_, 0) => ".start(in_valid), ".into(),
            (_, o) => format!(".start(valid_pipe[{}]), ", o - 1),
        };
        let _ = writeln!(
            t,
            "  wire [{}:0] h{k};\n  {name}_layer{k} layer{k} (.clk(clk), {start}.x({previous}), .y(h{k}));",
            l.outputs * l.output().width as usize - 1
        );
        previous = format!("h{k}");
        offset += figures.latency;
    }
    let _ = writeln!(
        t,
        "  assign out_codes = {previous};\n  assign out_valid = valid_pipe[{}];\nendmodule",
        latency - 1
    );
    t
}

/// Output FIFO depth for a network of `latency` cycles taking a frame every `ii` cycles, `output_beats` beats out:
/// every frame accepted while the oldest waits for the sink has a place, so frames flow at one every `ii` cycles
/// when the sink is ready.
pub fn fifo_depth(latency: usize, ii: usize, output_beats: usize) -> usize {
    (latency + 2 + output_beats)
        .div_ceil(ii)
        .next_power_of_two()
}

/// `<name>_axis`: the IP core.
pub fn axis_module(
    d: &HlsDesign,
    latency: usize,
    ii: usize,
    input: &StreamLayout,
    output: &StreamLayout,
) -> String {
    let name = &d.config.name;
    let (wi, wo) = (d.input.width as usize, d.output().width as usize);
    let (ib, ibits) = (input.beats, input.bits);
    let (ob, obits) = (output.beats, output.bits);
    let depth = fifo_depth(latency, ii, ob);
    let aw = clog2(depth);
    let pw = clog2(depth + 1);
    let bw = clog2(ib);
    let obw = clog2(ob);
    let fw = d.outputs() * wo;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "// {name}_axis: the network as an IP core with AXI4-Stream in and out.\n\
         // A frame is {ib} input beat(s) of {ibits} bits ({} codes of {} each) and {ob} output beat(s) of {obits} bits\n\
         // ({} codes of {}), codes from bit 0 up, TLAST on a frame's last beat, TKEEP all ones.\n\
         // A frame whose TLAST comes early or late, or with a TKEEP bit clear, is dropped (to its TLAST) and\n\
         // counted in frame_errors. Latency {} cycles from a frame's last input beat to its first output beat, one\n\
         // frame every {} cycle(s); a {depth}-frame output FIFO takes the frames in flight when m_axis_tready falls.",
        input.lanes,
        d.input,
        output.lanes,
        d.output(),
        latency + 2,
        ii
    );
    let _ = writeln!(
        t,
        "module {name}_axis (\n  input wire aclk,\n  input wire aresetn,\n  \
         input wire [{}:0] s_axis_tdata,\n  input wire [{}:0] s_axis_tkeep,\n  input wire s_axis_tlast,\n  \
         input wire s_axis_tvalid,\n  output wire s_axis_tready,\n  output wire [{}:0] m_axis_tdata,\n  \
         output wire [{}:0] m_axis_tkeep,\n  output wire m_axis_tlast,\n  output wire m_axis_tvalid,\n  \
         input wire m_axis_tready,\n  output reg [31:0] frame_errors\n);",
        ibits - 1,
        ibits / 8 - 1,
        obits - 1,
        obits / 8 - 1
    );
    // pacing: a frame's last beat is taken no sooner than `ii` cycles after the previous frame's (the reuse factor)
    let gw = clog2(ii);
    match ii > ib {
        true => {
            let _ = writeln!(
                t,
                "  reg [{}:0] gap;  // cycles since the last frame was taken, up to {}\n  wire paced = gap == {gw}'d{};",
                gw - 1,
                ii - 1,
                ii - 1
            );
        }
        false => t.push_str("  wire paced = 1'b1;\n"),
    }
    // input: beats gathered into a frame, framing checked
    let _ = writeln!(
        t,
        "  reg [{}:0] in_beat;\n  reg skipping;\n  reg [{}:0] pending;  // frames in the network or the FIFO\n  \
         wire last_beat = in_beat == {bw}'d{};\n  wire credit = (pending < {pw}'d{depth}) & paced;\n  \
         assign s_axis_tready = skipping | ~last_beat | credit;\n  \
         wire take = s_axis_tvalid & s_axis_tready & ~skipping;\n  \
         wire bad = take & ((s_axis_tlast != last_beat) | ~&s_axis_tkeep);\n  \
         wire frame_done = take & last_beat & ~bad;\n  \
         always @(posedge aclk)\n    if (!aresetn) begin\n      in_beat <= {bw}'d0;\n      skipping <= 1'b0;\n      \
         frame_errors <= 32'd0;\n    end else if (s_axis_tvalid & s_axis_tready) begin\n      \
         if (skipping) begin\n        if (s_axis_tlast) skipping <= 1'b0;\n      end else begin\n        \
         if (bad) frame_errors <= frame_errors + 32'd1;\n        \
         in_beat <= (s_axis_tlast | last_beat | bad) ? {bw}'d0 : in_beat + {bw}'d1;\n        \
         skipping <= bad & ~s_axis_tlast;\n      end\n    end",
        bw - 1,
        pw - 1,
        ib - 1
    );
    if ii > ib {
        let _ = writeln!(
            t,
            "  always @(posedge aclk)\n    if (!aresetn) gap <= {gw}'d{};\n    else if (frame_done) gap <= {gw}'d0;\n    \
             else if (!paced) gap <= gap + {gw}'d1;",
            ii - 1
        );
    }
    let mut frame = vec!["s_axis_tdata".to_string()];
    for j in (0..ib - 1).rev() {
        let _ = writeln!(
            t,
            "  reg [{}:0] hold{j};\n  always @(posedge aclk) if (take & in_beat == {bw}'d{j}) hold{j} <= s_axis_tdata;",
            ibits - 1
        );
        frame.push(format!("hold{j}"));
    }
    let _ = writeln!(
        t,
        "  reg [{}:0] frame;\n  reg frame_valid;\n  always @(posedge aclk) frame <= {{{}}};\n  \
         always @(posedge aclk) frame_valid <= aresetn & frame_done;",
        ib * ibits - 1,
        frame.join(", ")
    );
    let _ = writeln!(t, "  wire [{}:0] in_codes;", d.inputs * wi - 1);
    for k in 0..d.inputs {
        let bit = (k / input.lanes) * ibits + (k % input.lanes) * wi;
        let _ = writeln!(
            t,
            "  assign in_codes[{}:{}] = frame[{}:{}];",
            (k + 1) * wi - 1,
            k * wi,
            bit + wi - 1,
            bit
        );
    }
    let _ = writeln!(
        t,
        "  wire out_valid;\n  wire [{}:0] out_codes;\n  {name}_network network (.clk(aclk), .rst_n(aresetn), \
         .in_valid(frame_valid), .in_codes(in_codes), .out_valid(out_valid), .out_codes(out_codes));",
        fw - 1
    );
    // output: FIFO of whole frames, then beats
    let _ = writeln!(
        t,
        "  reg [{}:0] fifo [0:{}];\n  reg [{aw}:0] wr_ptr;\n  reg [{aw}:0] rd_ptr;\n  reg [{}:0] out_beat;\n  \
         always @(posedge aclk) if (out_valid) fifo[wr_ptr[{}:0]] <= out_codes;\n  \
         wire [{}:0] head = fifo[rd_ptr[{}:0]];\n  assign m_axis_tvalid = wr_ptr != rd_ptr;\n  \
         assign m_axis_tlast = out_beat == {obw}'d{};\n  assign m_axis_tkeep = {{{}{{1'b1}}}};\n  \
         wire pop = m_axis_tvalid & m_axis_tready & m_axis_tlast;\n  \
         always @(posedge aclk)\n    if (!aresetn) begin\n      wr_ptr <= {}'d0;\n      rd_ptr <= {}'d0;\n      \
         out_beat <= {obw}'d0;\n      pending <= {pw}'d0;\n    end else begin\n      \
         if (out_valid) wr_ptr <= wr_ptr + {}'d1;\n      if (m_axis_tvalid & m_axis_tready) begin\n        \
         out_beat <= m_axis_tlast ? {obw}'d0 : out_beat + {obw}'d1;\n        if (m_axis_tlast) rd_ptr <= rd_ptr + {}'d1;\n      \
         end\n      pending <= pending + {{{}'d0, frame_done}} - {{{}'d0, pop}};\n    end",
        fw - 1,
        depth - 1,
        obw - 1,
        aw - 1,
        fw - 1,
        aw - 1,
        ob - 1,
        obits / 8,
        aw + 1,
        aw + 1,
        aw + 1,
        aw + 1,
        pw - 1,
        pw - 1
    );
    for b in 0..ob {
        let mut parts = Vec::new();
        let first = b * output.lanes;
        let last = (first + output.lanes).min(d.outputs());
        let used = (last - first) * wo;
        if used < obits {
            parts.push(format!("{}'d0", obits - used));
        }
        for k in (first..last).rev() {
            parts.push(format!("head[{}:{}]", (k + 1) * wo - 1, k * wo));
        }
        let _ = writeln!(
            t,
            "  wire [{}:0] beat{b} = {{{}}};",
            obits - 1,
            parts.join(", ")
        );
    }
    let mut select = format!("beat{}", ob - 1);
    for b in (0..ob - 1).rev() {
        select = format!("(out_beat == {obw}'d{b}) ? beat{b} : {select}");
    }
    let _ = writeln!(t, "  assign m_axis_tdata = {select};\nendmodule");
    t
}
