"""Encoder throughput (rows/s) of a baler model in PyTorch, one thread, for comparison with
`cargo bench -p baler-benches --bench encoder` (4096 rows, the default) or with
`RAYON_NUM_THREADS=1 baler bench --device cpu-f32 --batch ...` (same batch sizes). Reads encoder.json +
encoder.safetensors (dense layers) without the safetensors package; each batch is timed repeatedly for about
a second and the median call reported.

    python3 scripts/pytorch_encoder_throughput.py models/jets-baler-9to5 data/hep_jets_dijet.npy [1,64,4096]
"""
import json
import statistics
import struct
import sys
import time

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
    return tensors


def main(model_dir, data_path, batches="4096", seconds=1.0):
    torch.set_num_threads(1)
    spec = json.load(open(f"{model_dir}/encoder.json"))["network"]
    norm = json.load(open(f"{model_dir}/decoder.json"))["normalization"]
    weights = read_safetensors(f"{model_dir}/encoder.safetensors")
    layers = []
    for i, layer in enumerate(l for l in spec["layers"] if l["kind"] == "dense"):
        linear = torch.nn.Linear(layer["inputs"], layer["outputs"])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[f"layer{i}.weight"].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[f"layer{i}.bias"].copy()))
        layers.append(linear)
        act = layer["activation"]
        if act["kind"] == "leaky_relu":
            layers.append(torch.nn.LeakyReLU(act["alpha"]))
        elif act["kind"] == "relu":
            layers.append(torch.nn.ReLU())
    encoder = torch.nn.Sequential(*layers).eval()
    data = np.load(data_path).astype(np.float64)
    data = (data - np.array(norm["offset"])) / np.array(norm["scale"])
    for rows in (int(b) for b in batches.split(",")):
        x = torch.from_numpy(np.resize(data, (rows, data.shape[1])).astype(np.float32))
        times = []
        with torch.inference_mode():
            encoder(x)
            start = time.perf_counter()
            while time.perf_counter() - start < seconds or len(times) < 5:
                t = time.perf_counter()
                encoder(x)
                times.append(time.perf_counter() - t)
        median = statistics.median(times)
        print(f"pytorch {torch.__version__} f32, 1 thread, batch {rows}: {median * 1e3:.4f} ms, "
              f"{rows / median:,.0f} rows/s")


if __name__ == "__main__":
    main(*sys.argv[1:4])
