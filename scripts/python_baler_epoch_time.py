#!/usr/bin/env python3
"""Seconds per training epoch of the Python Baler on a table, for comparison with `baler train`.

Runs the Python tool's own model class (`baler.modules.models.AE`, n->200->100->50->z, LeakyReLU, float64),
its own normalisation (`data_processing.normalize`) and its own epoch functions (`training.fit`, then
`training.validate`), with PyTorch pinned to one thread, the same 85/15 split and batch size as Baler-rs.

Needs a checkout of https://github.com/baler-collaboration/baler (nothing from it is copied here) and
torch, numpy, scipy, tqdm, scikit-learn, matplotlib.

    python3 scripts/python_baler_epoch_time.py --baler-repo ../baler --data data/hep_jets_dijet.npy --latent 5
"""
import argparse
import json
import os
import statistics
import sys
import time
import types

os.environ.setdefault("TQDM_DISABLE", "1")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baler-repo", required=True, help="checkout of baler-collaboration/baler")
    ap.add_argument("--data", required=True, help=".npy table (rows x variables)")
    ap.add_argument("--latent", type=int, required=True)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--float32", action="store_true", help="run the model in float32 (the tool itself uses float64)")
    args = ap.parse_args()

    sys.path.insert(0, os.path.abspath(args.baler_repo))
    import numpy as np
    import torch
    from torch.utils.data import DataLoader
    from baler.modules import data_processing, models, training

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    data = np.load(args.data).astype(np.float64)
    norm = data_processing.normalize(data, custom_norm=False)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(norm))
    n_val = round(0.15 * len(norm))
    dtype = torch.float32 if args.float32 else torch.float64
    train_ds = torch.tensor(norm[order[n_val:]], dtype=dtype)
    val_ds = torch.tensor(norm[order[:n_val]], dtype=dtype)
    train_dl = DataLoader(train_ds, batch_size=args.batch_size, shuffle=True)
    val_dl = DataLoader(val_ds, batch_size=args.batch_size, shuffle=False)

    model = models.AE(n_features=data.shape[1], z_dim=args.latent).to(dtype)
    children = list(model.children())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    config = types.SimpleNamespace()  # no custom loss: fit() uses mse_sum_loss_l1
    seconds = []
    devnull = open(os.devnull, "w")
    for _ in range(args.epochs):
        start = time.perf_counter()
        stdout, sys.stdout = sys.stdout, devnull  # fit() and validate() print every epoch
        try:
            training.fit(config, model, train_dl, children, 0.001, optimizer, args.latent, 0.05, True, 1)
            val = training.validate(model, val_dl, children, 0.001)
        finally:
            sys.stdout = stdout
        seconds.append(time.perf_counter() - start)
    print(json.dumps({
        "tool": "python-baler",
        "torch": torch.__version__,
        "threads": args.threads,
        "dtype": str(dtype),
        "rows": int(len(train_ds)),
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "median_seconds_per_epoch": statistics.median(seconds),
        "seconds": seconds,
        "last_validation_loss": float(val),
    }))


if __name__ == "__main__":
    main()
