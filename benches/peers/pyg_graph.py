#!/usr/bin/env python3
"""PyG's graph-level pipeline on the TU sets, timed: the peer of `benches/benches/graph.rs`.

- `collate_epoch/{proteins,nci1}`: one epoch of shuffled batches of 128 through PyG's `Collater`
  (what `DataLoader` calls per batch), from the `TUDataset` in memory.
- `gin_epoch/{proteins,nci1}`: one training epoch of the same GIN-0 as ours (Xu et al.: 4 `GINConv`
  layers with MLP Linear-BN-ReLU-Linear, then BN and ReLU, a linear head on `global_add_pool` of
  every layer and of the input, dropout 0.5, Adam lr 0.01) over `DataLoader(batch_size=128,
  shuffle=True)`.

The data are the mirror's TU zips (`SEQGRAPH_DATA_MIRROR`, else `../shared/datasets`), unpacked into
`SEQGRAPH_BENCH_DATA/tu/NAME/raw/` for `TUDataset` (nothing is downloaded).

Usage: python3 pyg_graph.py --json [--reps 10]; one JSON line per case.
"""
import argparse
import json
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

import torch
import torch_geometric
from torch import nn
from torch_geometric.datasets import TUDataset
from torch_geometric.loader import DataLoader
from torch_geometric.loader.dataloader import Collater
from torch_geometric.nn import GINConv, global_add_pool
from peer_measure import reset_peak, status_kb

ROOT = Path(__file__).resolve().parents[2]
SETS = {"proteins": "PROTEINS", "nci1": "NCI1"}


def dataset(tu):
    mirror = Path(os.environ.get("SEQGRAPH_DATA_MIRROR", ROOT.parent / "shared" / "datasets"))
    data_dir = Path(os.environ.get("SEQGRAPH_BENCH_DATA", ROOT / "target" / "bench-data")) / "tu"
    raw = data_dir / tu / "raw"
    if not (raw / f"{tu}_A.txt").exists():
        raw.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(mirror / "tu" / tu / f"{tu}.zip") as z:
            for m in z.namelist():
                base = m.rsplit("/", 1)[-1]
                if base.startswith(f"{tu}_") and base.endswith(".txt"):
                    (raw / base).write_bytes(z.read(m))
    return TUDataset(str(data_dir), tu)


class Gin(nn.Module):
    def __init__(self, fin, classes, hidden=64, layers=5, dropout=0.5):
        super().__init__()
        self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
        self.heads = nn.ModuleList([nn.Linear(fin, classes)])
        for i in range(layers - 1):
            d = fin if i == 0 else hidden
            mlp = nn.Sequential(nn.Linear(d, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            self.convs.append(GINConv(mlp, eps=0.0, train_eps=False))
            self.bns.append(nn.BatchNorm1d(hidden))
            self.heads.append(nn.Linear(hidden, classes))
        self.dropout = dropout

    def forward(self, x, edge_index, batch, num_graphs):
        drop = nn.functional.dropout
        out = drop(self.heads[0](global_add_pool(x, batch, num_graphs)), self.dropout, self.training)
        h = x
        for conv, bn, head in zip(self.convs, self.bns, self.heads[1:]):
            h = bn(conv(h, edge_index)).relu()
            out = out + drop(head(global_add_pool(h, batch, num_graphs)), self.dropout, self.training)
        return out


def timed(fn, reps):
    exact = reset_peak()
    before = status_kb("VmRSS")
    fn()  # warm-up, and the memory measurement
    peak = (status_kb("VmHWM") - before) / 1024 if exact else None
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("SEQGRAPH_BENCH_THREADS", "2")))
    peer = f"PyG {torch_geometric.__version__}, torch {torch.__version__}"
    torch.manual_seed(0)
    for name, tu in SETS.items():
        ds = dataset(tu)
        graphs = [ds[i] for i in range(len(ds))]  # as a DataLoader's workers see them
        collater = Collater(ds)

        def collate():
            perm = torch.randperm(len(graphs)).tolist()
            for i in range(0, len(perm), 128):
                collater([graphs[j] for j in perm[i:i + 128]])

        ms, peak = timed(collate, args.reps)
        print(json.dumps({"case": f"collate_epoch/{name}", "peer_ms": ms, "peer_peak_mb": peak, "peer": peer}))
        sys.stdout.flush()

        model = Gin(ds.num_features, ds.num_classes)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        loader = DataLoader(ds, batch_size=128, shuffle=True)
        model.train()

        def epoch():
            for b in loader:
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(b.x, b.edge_index, b.batch, b.num_graphs), b.y)
                loss.backward()
                opt.step()

        ms, peak = timed(epoch, max(3, args.reps // 2))
        print(json.dumps({"case": f"gin_epoch/{name}", "peer_ms": ms, "peer_peak_mb": peak, "peer": peer}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
