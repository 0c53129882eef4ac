#!/usr/bin/env python3
"""PyG Temporal's Chickenpox recipe, as its examples write it, timed.

The peer of `benches/benches/temporal.rs` and `seqgraph train temporal --dataset chickenpox`:
a recurrent graph layer (DCRNN K=1 by default) with 32 filters, ReLU, Linear(32, 1); lags 4;
train ratio 0.2; 200 epochs of Adam(lr 0.01), each one optimiser step on the mean of the training
snapshots' MSEs (PGT's snapshot loop); test score: the mean of the test snapshots' MSEs.

Reads chickenpox.json from the data mirror instead of GitHub. `torch_sparse` has no wheel for
torch 2.13: an empty stand-in module is registered after torch_geometric has been imported (so PyG
sees torch_sparse as absent) and only so that `torch_geometric_temporal` imports; the layers timed
here never touch it. The output says so.

Usage: PYTHONPATH=... python3 pgt_chickenpox.py [--model dcrnn] [--epochs 200] [--seed 1] [--json]
"""
import argparse
import json
import os
import sys
import time
import types
from importlib.metadata import version

import torch
import torch.nn.functional as F
import torch_geometric  # noqa: F401  (imported before the stand-in below on purpose)

SHIM = "torch_sparse: empty stand-in module (no wheel for torch 2.13); unused by the timed layers"
if "torch_sparse" not in sys.modules:
    stub = types.ModuleType("torch_sparse")
    stub.SparseTensor = type("SparseTensor", (), {})
    sys.modules["torch_sparse"] = stub

from torch_geometric_temporal.dataset import ChickenpoxDatasetLoader  # noqa: E402
from torch_geometric_temporal.nn.recurrent import A3TGCN, DCRNN, TGCN, GConvGRU, GConvLSTM  # noqa: E402
from torch_geometric_temporal.signal import temporal_signal_split  # noqa: E402
from peer_measure import reset_peak, status_kb  # noqa: E402


def default_data():
    mirror = os.environ.get("SEQGRAPH_DATA_MIRROR")
    if mirror:
        return os.path.join(mirror, "pgt", "chickenpox.json")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(root), "shared", "datasets", "pgt", "chickenpox.json")


class LocalChickenpox(ChickenpoxDatasetLoader):
    def __init__(self, path):
        self.path = path
        super().__init__()

    def _read_web_data(self):
        with open(self.path) as f:
            self._dataset = json.load(f)


class RecurrentGCN(torch.nn.Module):
    """PGT's example models: recurrent layer, ReLU, Linear(filters, 1)."""

    def __init__(self, model, node_features, filters=32, periods=4):
        super().__init__()
        self.model = model
        if model == "dcrnn":
            self.recurrent = DCRNN(node_features, filters, 1)
        elif model == "gconvgru":
            self.recurrent = GConvGRU(node_features, filters, 1)
        elif model == "gconvlstm":
            self.recurrent = GConvLSTM(node_features, filters, 1)
        elif model == "tgcn":
            self.recurrent = TGCN(node_features, filters)
        elif model == "a3tgcn":
            self.recurrent = A3TGCN(1, filters, periods)
        else:
            raise SystemExit(f"unknown model {model}")
        self.linear = torch.nn.Linear(filters, 1)

    def forward(self, x, edge_index, edge_weight):
        if self.model == "a3tgcn":
            h = self.recurrent(x.view(x.shape[0], 1, x.shape[1]), edge_index, edge_weight)
        elif self.model == "gconvlstm":
            h, _ = self.recurrent(x, edge_index, edge_weight)
        else:
            h = self.recurrent(x, edge_index, edge_weight)
        return self.linear(F.relu(h))


def run(model_name, epochs, seed, data):
    """PGT's recipe; returns (per-epoch seconds, test MSE, peak MiB of the first epoch)."""
    torch.manual_seed(seed)
    dataset = LocalChickenpox(data).get_dataset(lags=4)
    train, test = temporal_signal_split(dataset, train_ratio=0.2)
    model = RecurrentGCN(model_name, node_features=4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    model.train()
    times, peak = [], None
    for epoch in range(epochs):
        exact = epoch == 0 and reset_peak()
        before = status_kb("VmRSS")
        start = time.perf_counter()
        cost = 0
        for t, snap in enumerate(train):
            y_hat = model(snap.x, snap.edge_index, snap.edge_attr)
            cost = cost + torch.mean((y_hat - snap.y) ** 2)
        cost = cost / (t + 1)
        cost.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - start)
        if exact and before is not None:
            peak = max(0, status_kb("VmHWM") - before) / 1024.0

    model.eval()
    with torch.no_grad():
        cost = 0
        for t, snap in enumerate(test):
            y_hat = model(snap.x, snap.edge_index, snap.edge_attr)
            cost = cost + torch.mean((y_hat - snap.y) ** 2)
        mse = (cost / (t + 1)).item()
    return times, mse, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="one model (default: the bench cases dcrnn and tgcn)")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    threads = os.environ.get("SEQGRAPH_BENCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))

    for name in [args.model] if args.model else ["dcrnn", "tgcn"]:
        times, mse, peak = run(name, args.epochs, args.seed, args.data)
        timed = sorted(times[min(5, len(times) - 1):])  # after a warm-up
        out = {
            "case": f"temporal_epoch/chickenpox_{name}",
            "peer_ms": 1000.0 * timed[len(timed) // 2],
            "peer_peak_mb": peak,
            "peer": f"torch_geometric_temporal {version('torch-geometric-temporal')}, torch {torch.__version__}",
            "model": name,
            "dataset": "chickenpox",
            "seed": args.seed,
            "epochs": args.epochs,
            "threads": torch.get_num_threads(),
            "s_per_epoch": sum(times) / len(times),
            "mse": mse,
            "shim": SHIM,
        }
        if args.json:
            print(json.dumps(out), flush=True)
        else:
            print(", ".join(f"{k}: {v}" for k, v in out.items()), flush=True)


if __name__ == "__main__":
    main()
