#!/usr/bin/env python3
"""PyG peer of `benches/benches/link.rs`: a GAE training epoch and negative sampling.

Cases (same names, same work as the Rust side):
- `gae_epoch/cora`: PyG's `examples/autoencoder.py` (GAE, GCNEncoder: GCNConv(F, 32) - ReLU -
  GCNConv(32, 16), `NormalizeFeatures`, `RandomLinkSplit(num_val=0.05, num_test=0.1,
  is_undirected=True, split_labels=True, add_negative_train_samples=False)`, Adam lr 0.01), its
  `train()`: encode, `recon_loss` (fresh `negative_sampling` inside), backward, step.
- `gae_dense_epoch/cora`: the same encoder with Kipf and Welling's all-pairs loss, written in torch
  (`norm * BCE(Z Z^T, A + I, pos_weight)`, as their `gae/optimizer.py`).
- `negative_sampling/rmat_1m_16m`: `torch_geometric.utils.negative_sampling(edge_index, num_nodes,
  num_neg_samples=10**7)` on the bench's R-MAT edges (`$SEQGRAPH_BENCH_DATA/rmat_1m_16m.bin`,
  written by the Rust bench).

Data: Planetoid raw files from the mirror (`$SEQGRAPH_DATA_MIRROR`, else `../shared/datasets`) copied
into a temporary PyG root. Threads: `$SEQGRAPH_BENCH_THREADS` (default 2).

Usage: python3 benches/peers/pyg_link.py --json [--epochs 50] [--reps 3] [--cases gae_epoch/cora,...]
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
from torch_geometric.nn import GAE, GCNConv
from torch_geometric.utils import negative_sampling, to_dense_adj
from peer_measure import median_ms, peak_mb

PEER = f"PyG {torch_geometric.__version__}, torch {torch.__version__}"
NEGATIVES = 10**7


def cora_split():
    mirror = Path(os.environ.get("SEQGRAPH_DATA_MIRROR", "../shared/datasets")) / "planetoid"
    root = Path(tempfile.mkdtemp(prefix="seqgraph-pyg-"))
    raw = root / "Cora" / "raw"
    raw.mkdir(parents=True)
    for f in mirror.glob("ind.cora.*"):
        shutil.copy(f, raw / f.name)
    transform = T.Compose([
        T.NormalizeFeatures(),
        T.RandomLinkSplit(num_val=0.05, num_test=0.1, is_undirected=True, split_labels=True,
                          add_negative_train_samples=False),
    ])
    ds = Planetoid(str(root), "Cora", transform=transform)
    train_data, _, _ = ds[0]
    shutil.rmtree(root, ignore_errors=True)
    return train_data, ds.num_features


class GCNEncoder(torch.nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = GCNConv(in_channels, 2 * out_channels)
        self.conv2 = GCNConv(2 * out_channels, out_channels)

    def forward(self, x, edge_index):
        x = self.conv1(x, edge_index).relu()
        return self.conv2(x, edge_index)


def gae_cases(epochs):
    data, f = cora_split()
    torch.manual_seed(0)
    model = GAE(GCNEncoder(f, 16))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()

    def step():
        opt.zero_grad()
        z = model.encode(data.x, data.edge_index)
        model.recon_loss(z, data.pos_edge_label_index).backward()
        opt.step()

    mb = peak_mb(step)
    yield "gae_epoch/cora", median_ms(step, epochs), mb

    # Kipf and Welling's loss: every pair, A + I as the target, positives weighted.
    n = data.num_nodes
    label = to_dense_adj(data.edge_index, max_num_nodes=n)[0]
    label.fill_diagonal_(1.0)
    e = float(label.sum())
    pos_weight = torch.tensor((n * n - e) / e)
    norm = n * n / (2.0 * (n * n - e))

    def dense_step():
        opt.zero_grad()
        z = model.encode(data.x, data.edge_index)
        loss = norm * F.binary_cross_entropy_with_logits(z @ z.t(), label, pos_weight=pos_weight)
        loss.backward()
        opt.step()

    mb = peak_mb(dense_step)
    yield "gae_dense_epoch/cora", median_ms(dense_step, epochs), mb


def rmat_case(reps):
    path = Path(os.environ.get("SEQGRAPH_BENCH_DATA", "target/bench-data")) / "rmat_1m_16m.bin"
    if not path.exists():
        print(f"pyg_link: {path} missing (run the Rust link bench first); skipping", file=sys.stderr)
        return
    raw = np.fromfile(path, dtype=np.uint8)
    n, m = (int(v) for v in np.frombuffer(raw[:16], dtype="<u8"))
    ids = np.frombuffer(raw[16:], dtype="<u4", count=2 * m)
    edge_index = torch.from_numpy(ids.astype(np.int64)).view(2, m)
    del raw, ids
    torch.manual_seed(0)

    def run():
        out = negative_sampling(edge_index, num_nodes=n, num_neg_samples=NEGATIVES)
        assert out.size(1) == NEGATIVES, out.size()

    mb = peak_mb(run)
    yield "negative_sampling/rmat_1m_16m", median_ms(run, reps, warmup=0), mb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", default="gae_epoch/cora,gae_dense_epoch/cora,negative_sampling/rmat_1m_16m")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("SEQGRAPH_BENCH_THREADS", "2")))
    wanted = set(args.cases.split(","))
    results = []
    if wanted & {"gae_epoch/cora", "gae_dense_epoch/cora"}:
        results.append(gae_cases(args.epochs))
    if "negative_sampling/rmat_1m_16m" in wanted:
        results.append(rmat_case(args.reps))
    for gen in results:
        for case, ms, mb in gen:
            if case not in wanted:
                continue
            row = {"case": case, "peer_ms": ms, "peer_peak_mb": mb, "peer": PEER,
                   "threads": torch.get_num_threads()}
            print(json.dumps(row) if args.json else f"{case}: {ms:.2f} ms (peak +{mb} MiB)", flush=True)


if __name__ == "__main__":
    main()
