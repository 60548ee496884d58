#!/usr/bin/env python3
"""Cross-check of baler's HLS projects against hls4ml 1.3.0: the same quantised weights and formats go through
hls4ml's own converter and C simulation (g++ with the ap_fixed headers, no Xilinx tools), and the output codes
are compared with the expected codes in the baler project's tb_data/ (which its own C simulation matched).

  python3 hls4ml_crosscheck.py --network NETWORK.json --project HLS_PROJECT [--work DIR]

NETWORK.json: a quantised network (quantized-encoder.json / quantized-decoder.json of a model folder, or a bare
network). Run through scripts/hls4ml_crosscheck.sh, which installs hls4ml and prepares the projects.
Prints one JSON line per network; exits 1 on any differing code.
"""
import argparse
import json
import os
import re
import sys

import h5py
import numpy as np


def parse_format(text):
    """(signed, width, int_bits) of an ap_fixed / ap_ufixed spelling."""
    m = re.fullmatch(r"\s*ap_(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)[^>]*>\s*", text)
    if not m:
        raise ValueError(f"not an ap_fixed format: {text}")
    return m.group(1) != "u", int(m.group(2)), int(m.group(3))


def frac_bits(text):
    _, width, int_bits = parse_format(text)
    return width - int_bits


def read_codes(path):
    rows = [line.split() for line in open(path) if line.strip() and not line.startswith("#")]
    return np.array(rows, dtype=np.int64)


def keras_model(network, work):
    """A Keras-2 JSON + H5 description of the dense network (no Keras needed), and hls4ml's precision config."""
    n_in = int(np.prod(network["input_shape"]))
    layers = [{"class_name": "InputLayer", "config": {"name": "x_in", "batch_input_shape": [None, n_in], "dtype": "float32"}}]
    precision = {"x_in": {"Precision": {"result": network["input"]}}}
    reuse = {}
    h5_path = os.path.join(work, "weights.h5")
    with h5py.File(h5_path, "w") as h5:
        for k, layer in enumerate(network["layers"], start=1):
            spec, fixed = layer["spec"], layer.get("fixed")
            if spec["kind"] in ("flatten", "unflatten"):
                continue
            name = f"fc{k}"
            shape = (spec["inputs"], spec["outputs"])
            w = np.array(fixed["weights"], dtype=np.float64).reshape(shape) * 2.0 ** -frac_bits(fixed["weight"])
            b = np.array(fixed["biases"], dtype=np.float64) * 2.0 ** -frac_bits(fixed["bias"])
            group = h5.create_group(f"{name}/{name}")
            group["kernel:0"] = w
            group["bias:0"] = b
            layers.append({"class_name": "Dense", "config": {"name": name, "units": spec["outputs"], "activation": "linear", "use_bias": True}})
            formats = {key: fixed[key] for key in ("weight", "bias", "accum", "result")}
            precision[name] = {"Precision": formats}
            precision[f"{name}_linear"] = {"Precision": {"result": fixed["result"]}}
            reuse[name] = fixed.get("reuse_factor", 1)
            act = spec["activation"]["kind"]
            if act == "relu":
                layers.append({"class_name": "Activation", "config": {"name": f"act{k}", "activation": "relu"}})
                precision[f"act{k}"] = {"Precision": {"result": fixed["activation"]}}
            elif act == "leaky_relu":
                alpha = fixed["alpha"]
                value = alpha["code"] * 2.0 ** -frac_bits(alpha["format"])
                layers.append({"class_name": "LeakyReLU", "config": {"name": f"act{k}", "alpha": value}})
                precision[f"act{k}"] = {"Precision": {"result": fixed["activation"], "param": alpha["format"]}}
    arch = {"class_name": "Sequential", "config": {"name": "baler", "layers": layers}}
    json_path = os.path.join(work, "model.json")
    with open(json_path, "w") as f:
        json.dump(arch, f)
    return json_path, h5_path, precision, reuse


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--work", default=None)
    parser.add_argument("--strategy", choices=["Latency", "Resource"], default=None,
                        help="force hls4ml's strategy (the default follows the network's reuse factors)")
    args = parser.parse_args()

    import hls4ml  # noqa: imported late so --help works without it

    document = json.load(open(args.network))
    network = document.get("network", document)
    convolutions = [l["spec"]["kind"] for l in network["layers"] if l["spec"]["kind"].startswith("conv")]
    if convolutions:
        # hls4ml lays images out channels-last and builds transposed convolutions in io_stream only
        print(json.dumps({"network": args.network, "skipped": f"convolutional layers ({', '.join(convolutions)})"}))
        return 0
    work = os.path.abspath(args.work or os.path.join(args.project, "hls4ml"))
    os.makedirs(work, exist_ok=True)
    json_path, h5_path, precision, reuse = keras_model(network, work)

    inputs = read_codes(os.path.join(args.project, "tb_data/input_codes.txt"))
    expected = read_codes(os.path.join(args.project, "tb_data/expected_codes.txt"))
    x = inputs.astype(np.float64) * 2.0 ** -frac_bits(network["input"])

    # hls4ml's Latency kernel adds inputs in order (reuse factor 1); its Resource kernel in stride-RF groups,
    # the order a model quantised with that reuse factor uses
    strategy = args.strategy or ("Latency" if all(rf == 1 for rf in reuse.values()) else "Resource")
    for name, rf in reuse.items():
        precision[name]["ReuseFactor"] = rf
        precision[name]["Strategy"] = strategy
    config = hls4ml.utils.config.create_config(
        output_dir=os.path.join(work, "prj"), project_name="crosscheck", backend="Vivado", io_type="io_parallel"
    )
    config["KerasJson"] = json_path
    config["KerasH5"] = h5_path
    config["HLSConfig"] = {
        "Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": strategy},
        "LayerName": precision,
    }
    model = hls4ml.converters.keras_v2_to_hls(config)
    model.compile()
    y = np.asarray(model.predict(np.ascontiguousarray(x)), dtype=np.float64).reshape(expected.shape)
    last = [l for l in network["layers"] if l.get("fixed")][-1]["fixed"]
    out_format = last.get("activation") or last["result"]
    codes = np.rint(y * 2.0 ** frac_bits(out_format)).astype(np.int64)
    differing = int(np.count_nonzero(codes != expected))
    print(json.dumps({
        "network": args.network,
        "project": args.project,
        "hls4ml": hls4ml.__version__,
        "strategy": strategy,
        "frames": int(expected.shape[0]),
        "codes": int(expected.size),
        "differing_codes": differing,
    }))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
