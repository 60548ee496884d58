"""The same quantised dense network through da4ml (PyPI da4ml 0.6.0: Verilog from a distributed-arithmetic adder
graph, no multipliers) and through baler's Verilog backend, both synthesised by the same yosys commands.

Usage (scripts/da4ml_compare.sh sets up the venv and the projects):
    python da4ml_compare.py MODEL_JSON OUT DESIGN...
MODEL_JSON: a quantized-encoder.json; DESIGN: label=HLS project folder with rtl/ written by `baler hls --rtl`
(all for the same model). da4ml's network is checked bit-exact against the project's expected codes first, then
pipelined to the same number of stages as baler's network; every network (the bare pipeline, no AXI wrapper) is
synthesised for xcup and xc7 (with the xc7 logic delay from yosys sta). Writes OUT/da4ml_compare.json and prints
a table.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from da4ml.codegen import VerilogModel
from da4ml.trace import FixedVariableArrayInput, comb_trace, to_pipeline

FORMAT = re.compile(r'ap_(u?)fixed<(-?\d+),(-?\d+)(?:,(\w+))?(?:,(\w+))?(?:,\d+)?>')


def kif(text):
    """(k, i, f, round, overflow) of an ap_fixed format: da4ml's i excludes the sign bit."""
    m = FORMAT.fullmatch(text.replace(' ', ''))
    if not m:
        sys.exit(f'format {text} does not parse')
    unsigned, w, i, q, o = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4) or 'AP_TRN', m.group(5) or 'AP_WRAP'
    rounds = {'AP_TRN': 'TRN', 'AP_RND': 'RND'}
    overflows = {'AP_WRAP': 'WRAP', 'AP_SAT': 'SAT'}
    if q not in rounds or o not in overflows:
        sys.exit(f'format {text}: da4ml has no {q}/{o} here (only TRN, RND and WRAP, SAT)')
    k = 0 if unsigned else 1
    return k, i - k, w - i, rounds[q], overflows[o]


def da4ml_network(network):
    """The network traced in da4ml: exact sums (baler's wrap-around accumulators cannot overflow), the result
    and activation conversions as baler's formats say."""
    n = int(np.prod(network['input_shape']))
    k, i, f, _, _ = kif(network['input'])
    inp = FixedVariableArrayInput((n,))
    x = inp.quantize(k, i, f)
    for layer in network['layers']:
        spec, fx = layer['spec'], layer['fixed']
        if spec['kind'] != 'dense':
            sys.exit(f"layer kind {spec['kind']}: only dense layers here")
        wf, bf = kif(fx['weight'])[2], kif(fx['bias'])[2]
        weights = np.array(fx['weights'], dtype=np.float64).reshape(spec['inputs'], spec['outputs']) * 2.0**-wf
        biases = np.array(fx['biases'], dtype=np.float64) * 2.0**-bf
        y = x @ weights + biases
        k, i, f, q, o = kif(fx['result'])
        y = y.quantize(k, i, f, overflow_mode=o, round_mode=q)
        activation = spec['activation']['kind']
        if activation == 'relu':
            y = y.relu()
            if fx.get('activation'):
                k, i, f, q, o = kif(fx['activation'])
                y = y.quantize(k, i, f, overflow_mode=o, round_mode=q)
        elif activation != 'linear':
            sys.exit(f'activation {activation}: only relu and linear here')
        x = y
    return inp, x


def codes(path):
    return np.array([[int(c) for c in line.split()] for line in open(path) if line.strip() and not line.startswith('#')])


def cells(stat):
    """Cell counts of the last `Number of cells:` block of yosys's `stat`, grouped as baler's tally groups them."""
    text = open(stat).read()
    counts = {}
    for line in text[text.rfind('Number of cells:') :].splitlines()[1:]:
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit():
            break
        counts[fields[0]] = int(fields[1])
    group = lambda prefixes: sum(v for c, v in counts.items() if c.startswith(prefixes))
    return {
        'lut': group(('LUT', 'INV')),
        'ff': group(('FD',)),
        'carry': group(('CARRY',)),
        'dsp': group(('DSP',)),
        'srl': group(('SRL',)),
        'muxf': group(('MUXF',)),
    }


def synthesize(sources, top, family, out):
    """baler's synthesis commands (hls/src/rtl/tools.rs) on `sources`; the xc7 run adds abc9 and sta."""
    out.mkdir(parents=True, exist_ok=True)
    stat, sta = out / f'{top}_{family}.stat', out / f'{top}_{family}.sta'
    reads = '; '.join(f'read_verilog -sv {s}' for s in sources)
    xc7 = family == 'xc7'
    script = f'{reads}; synth_xilinx -family {family} -top {top} -noiopad{" -abc9" if xc7 else ""}; tee -q -o {stat} stat'
    if xc7:
        script += f'; setattr -mod -unset keep_hierarchy; flatten; read_verilog -lib -specify +/xilinx/cells_sim.v; tee -q -o {sta} sta'
    started = time.time()
    subprocess.run(['yosys', '-q', '-l', str(out / f'{top}_{family}.log'), '-p', script], check=True)
    result = cells(stat) | {'seconds': round(time.time() - started, 1)}
    if xc7:
        arrival = re.search(rf"Latest arrival time in '{top}' is (\d+)", open(sta).read())
        result['logic_delay_ns'] = int(arrival.group(1)) / 1000 if arrival else None
    return result


def main():
    model, out, designs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    network = json.load(open(model))['network']
    projects = [(d.split('=', 1)[0], Path(d.split('=', 1)[1])) for d in designs]
    first = projects[0][1]
    report = json.load(open(first / 'report.json'))
    latency = report['rtl']['design']['network_latency']
    name = report['config']['name']

    inp, outp = da4ml_network(network)
    comb = comb_trace(inp, outp)
    inputs = codes(first / 'tb_data/input_codes.txt') * 2.0 ** -kif(network['input'])[2]
    last = network['layers'][-1]['fixed']
    out_format = last.get('activation') if network['layers'][-1]['spec']['activation']['kind'] == 'relu' else last['result']
    expected = codes(first / 'tb_data/expected_codes.txt') * 2.0 ** -kif(out_format)[2]
    got = comb.predict(inputs.astype(np.float64), n_threads=1)
    mismatches = int(np.sum(got.reshape(expected.shape) != expected))
    print(f'da4ml network: {len(expected)} frames, {mismatches} output codes differ from baler reference')

    # the latency cutoff (da4ml's delay units, whole numbers: fractional ones can stall its pipeliner) that gives
    # as many stages as baler's network
    for cutoff in range(64, 0, -1):
        pipeline = to_pipeline(comb, cutoff, verbose=False)
        if len(pipeline.solutions) >= latency:
            break
    stages = len(pipeline.solutions)
    da4ml_dir = out / 'da4ml'
    VerilogModel(pipeline, 'da4ml_net', da4ml_dir, print_latency=False).write()
    print(f'da4ml pipeline: {stages} stages at latency cutoff {cutoff} (baler network: {latency})')

    rows = []
    sources = sorted(str(p) for p in (da4ml_dir / 'src').glob('*.v') if 'wrapper' not in p.name)
    # its table module reads memory files, and this network has no tables
    tables = any((da4ml_dir / 'src/memfiles').iterdir())
    sources += sorted(str(p) for p in (da4ml_dir / 'src/static').glob('*.v') if tables or p.name != 'lookup_table.v')
    row = {'design': 'da4ml 0.6.0', 'stages': stages, 'mismatches': mismatches}
    for family in ('xcup', 'xc7'):
        row[family] = synthesize(sources, 'da4ml_net', family, out / 'yosys')
    rows.append(row)
    for label, project in projects:
        design = json.load(open(project / 'report.json'))['rtl']['design']
        row = {'design': f'baler --multipliers {label}', 'stages': design['network_latency']}
        for family in ('xcup', 'xc7'):
            row[family] = synthesize([str(project / f'rtl/{name}.v')], f'{name}_network', family, out / f'yosys-{label}')
        rows.append(row)
    json.dump(rows, open(out / 'da4ml_compare.json', 'w'), indent=1)
    print('| network | stages | LUT | FF | CARRY4 | DSP | LUT+DSP | xc7 LUT | xc7 DSP | xc7 logic delay | yosys xcup |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        u, s = r['xcup'], r['xc7']
        print(
            f"| {r['design']} | {r['stages']} | {u['lut']:,} | {u['ff']:,} | {u['carry']:,} | {u['dsp']} | {u['lut'] + u['dsp']:,} "
            f"| {s['lut']:,} | {s['dsp']} | {s['logic_delay_ns']} ns | {u['seconds']} s |"
        )


if __name__ == '__main__':
    main()
