#!/usr/bin/env python3
"""PyG peer of `benches/benches/gnn.rs`: per-epoch training time of PyG's example models, and one
GCNConv forward + backward on the R-MAT graph.

Cases (same names, same work as the Rust side):
- `gcn_epoch/{cora,citeseer}`: PyG's `examples/gcn.py` model (GCNConv(F, 16, cached) - ReLU -
  GCNConv(16, C, cached), dropout 0.5 on the features and the hidden layer, Adam lr 0.01, weight decay
  5e-4 on the first layer), one training step (forward, loss on the train split, backward, Adam).
- `gat_epoch/{cora,citeseer}`: PyG's `examples/gat.py` (GATConv(F, 8, heads 8, dropout 0.6) - ELU -
  GATConv(64, C, heads 1, concat False, dropout 0.6), dropout 0.6 on inputs, Adam lr 0.005, wd 5e-4).
- `gcn_layer/rmat_1m_16m`: GCNConv(64, 64, cached) on the bench's R-MAT edges
  (`$SEQGRAPH_BENCH_DATA/rmat_1m_16m.bin`, written by the Rust bench), normalisation computed once before
  timing as our cached operator is; forward + backward of `out.sum()`.

Data: Planetoid raw files from the mirror (`$SEQGRAPH_DATA_MIRROR`, else `../shared/datasets`) copied into a
temporary PyG root; `NormalizeFeatures` as the examples. Threads: `$SEQGRAPH_BENCH_THREADS` (default 2).

Usage: PYTHONPATH=/tmp/pyg python3 benches/peers/pyg_gnn.py --json [--epochs 50] [--cases gcn_epoch/cora,...]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torch_geometric
import torch_geometric.transforms as T
from torch_geometric.datasets import Planetoid
from torch_geometric.nn import GATConv, GCNConv
from peer_measure import median_ms, peak_mb

PEER = f"PyG {torch_geometric.__version__}, torch {torch.__version__}"


def planetoid(name):
    mirror = Path(os.environ.get("SEQGRAPH_DATA_MIRROR", "../shared/datasets")) / "planetoid"
    root = Path(tempfile.mkdtemp(prefix="seqgraph-pyg-"))
    raw = root / name.capitalize().replace("Citeseer", "CiteSeer") / "raw"
    raw.mkdir(parents=True)
    for f in mirror.glob(f"ind.{name}.*"):
        shutil.copy(f, raw / f.name)
    ds = Planetoid(str(root), "Cora" if name == "cora" else "CiteSeer", transform=T.NormalizeFeatures())
    data = ds[0]
    shutil.rmtree(root, ignore_errors=True)
    return data, ds.num_features, ds.num_classes


class Gcn(torch.nn.Module):
    def __init__(self, f, c):
        super().__init__()
        self.conv1 = GCNConv(f, 16, cached=True)
        self.conv2 = GCNConv(16, c, cached=True)

    def forward(self, x, ei):
        x = F.dropout(x, p=0.5, training=self.training)
        x = F.dropout(self.conv1(x, ei).relu(), p=0.5, training=self.training)
        return self.conv2(x, ei)


class Gat(torch.nn.Module):
    def __init__(self, f, c):
        super().__init__()
        self.conv1 = GATConv(f, 8, heads=8, dropout=0.6)
        self.conv2 = GATConv(64, c, heads=1, concat=False, dropout=0.6)

    def forward(self, x, ei):
        x = F.dropout(x, p=0.6, training=self.training)
        x = F.dropout(F.elu(self.conv1(x, ei)), p=0.6, training=self.training)
        return self.conv2(x, ei)


def epoch_case(model_name, dataset, epochs):
    data, f, c = planetoid(dataset)
    torch.manual_seed(0)
    if model_name == "gcn":
        model = Gcn(f, c)
        opt = torch.optim.Adam([dict(params=model.conv1.parameters(), weight_decay=5e-4),
                                dict(params=model.conv2.parameters(), weight_decay=0)], lr=0.01)
    else:
        model = Gat(f, c)
        opt = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
    model.train()

    def step():
        opt.zero_grad()
        out = model(data.x, data.edge_index)
        F.cross_entropy(out[data.train_mask], data.y[data.train_mask]).backward()
        opt.step()

    mb = peak_mb(step)
    return median_ms(step, epochs), mb


def rmat_case(reps):
    path = Path(os.environ.get("SEQGRAPH_BENCH_DATA", "target/bench-data")) / "rmat_1m_16m.bin"
    if not path.exists():
        print(f"pyg_gnn: {path} missing (run the Rust gnn bench first); skipping", file=sys.stderr)
        return None
    raw = np.fromfile(path, dtype=np.uint8)
    n, m = (int(v) for v in np.frombuffer(raw[:16], dtype="<u8"))
    ids = np.frombuffer(raw[16:], dtype="<u4", count=2 * m)
    edge_index = torch.from_numpy(ids.astype(np.int64)).view(2, m)
    del raw, ids
    torch.manual_seed(0)
    conv = GCNConv(64, 64, cached=True)
    x = torch.randn(n, 64, requires_grad=True)
    with torch.no_grad():
        conv(x, edge_index)  # fills the cache: normalisation outside the timing, as ours

    def step():
        conv.zero_grad()
        x.grad = None
        conv(x, edge_index).sum().backward()

    mb = peak_mb(step)
    return median_ms(step, reps, warmup=1), mb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--cases", default="gcn_epoch/cora,gcn_epoch/citeseer,gat_epoch/cora,gat_epoch/citeseer,"
                                       "gcn_layer/rmat_1m_16m")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("SEQGRAPH_BENCH_THREADS", "2")))
    for case in args.cases.split(","):
        group, what = case.split("/")
        if group == "gcn_layer":
            res = rmat_case(5)
            if res is None:
                continue
        else:
            res = epoch_case(group.split("_")[0], what, args.epochs)
        ms, mb = res
        row = {"case": case, "peer_ms": ms, "peer_peak_mb": mb, "peer": PEER,
               "threads": torch.get_num_threads()}
        print(json.dumps(row) if args.json else f"{case}: {ms:.2f} ms (peak +{mb} MiB)", flush=True)


if __name__ == "__main__":
    main()
