#!/usr/bin/env python3
"""PyG Temporal's DCRNN on a LargeST-sized sensor graph, one training step, timed.

The peer of `sensor_step/dcrnn_knn8600` and `sensor_step/graphwavenet_knn8600_b16`
(PGT has no Graph WaveNet; the issue compares both with PGT's DCRNN) in
`benches/benches/temporal.rs`: 8,600 sensors at random positions in the unit
square, each linked to its 8 nearest (DCRNN's Gaussian-kernel weights),
B = 16 sequences of T = 12 steps with 2 features, DCRNN(2, 64, K=2), ReLU,
Linear(64, 12) on the last state; MSE, backward, Adam. PGT's layers take one
snapshot `(N, F)` at a time, so a batch is its snapshot loop: for each
sequence, the 12 steps in turn (the way PGT's examples and users run it).
That loop is linear in B (each sequence is its own forward and backward),
and one full step takes over 10 minutes here, so by default it runs
`--sequences 1` of the 16 and reports 16 times that (the output says so).
The graph is drawn with numpy (same construction, its own random positions):
the timing depends on the sizes, not on which positions.

`torch_sparse` has no wheel for torch 2.13: an empty stand-in module is
registered after torch_geometric has been imported, only so that
`torch_geometric_temporal` imports; DCRNN never touches it.

Usage: PYTHONPATH=... python3 pgt_sensor.py [--steps 1] [--sequences 1] [--json]
"""
import argparse
import json
import sys
import time
import types

import numpy as np
import torch
import torch_geometric  # noqa: F401  (imported before the stand-in below on purpose)

if "torch_sparse" not in sys.modules:
    stub = types.ModuleType("torch_sparse")
    stub.SparseTensor = type("SparseTensor", (), {})
    sys.modules["torch_sparse"] = stub

from torch_geometric_temporal.nn.recurrent import DCRNN  # noqa: E402
from peer_measure import reset_peak, status_kb  # noqa: E402


def knn_graph(n, k, seed):
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2), dtype=np.float32)
    src, dst, dist = [], [], []
    for u in range(n):
        d = np.sqrt(((pos - pos[u]) ** 2).sum(1))
        d[u] = np.inf
        near = np.argpartition(d, k)[:k]
        src += [u] * k
        dst += near.tolist()
        dist += d[near].tolist()
    dist = np.array(dist)
    w = np.exp(-((dist / dist.std()) ** 2))
    return torch.tensor([src, dst]), torch.tensor(w, dtype=torch.float32)


class Model(torch.nn.Module):
    def __init__(self, features, hidden, horizon):
        super().__init__()
        self.recurrent = DCRNN(features, hidden, 2)
        self.linear = torch.nn.Linear(hidden, horizon)

    def forward(self, x, edge_index, edge_weight):
        h = None
        for t in range(x.shape[0]):
            h = self.recurrent(x[t], edge_index, edge_weight, h)
        return self.linear(torch.relu(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--sequences", type=int, default=1, help="sequences run of the batch of 16")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    n, b, t, f, hidden, horizon = 8600, 16, 12, 2, 64, 12
    edge_index, edge_weight = knn_graph(n, 8, 0)
    model = Model(f, hidden, horizon)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(b, t, n, f)
    y = torch.randn(b, n, horizon)

    def step():
        opt.zero_grad()
        loss = sum(torch.mean((model(x[i], edge_index, edge_weight) - y[i]) ** 2) for i in range(args.sequences)) / b
        loss.backward()
        opt.step()

    reset_peak()
    before = status_kb("VmRSS")
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = max(0, status_kb("VmHWM") - before) / 1024.0
    ms = float(np.median(times)) * 1e3 * b / args.sequences
    # The issue compares both of our models at this size with PGT's DCRNN (PGT has no Graph WaveNet).
    for case in ["sensor_step/dcrnn_knn8600", "sensor_step/graphwavenet_knn8600_b16"]:
        out = {"case": case, "peer_ms": ms, "peer_peak_mb": peak,
               "peer": f"PGT 0.56.2 DCRNN(K=2) snapshot loop ({args.sequences} of {b} sequences, x {b / args.sequences:g})",
               "steps": args.steps}
        print(json.dumps(out) if args.json else out, flush=True)


if __name__ == "__main__":
    main()
