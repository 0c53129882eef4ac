#!/usr/bin/env python3
"""PyG's `to_undirected` + `gcn_norm` on the bench's R-MAT edges, timed.

The peer of `benches/benches/data.rs` (`gcn_csr/rmat_1m_16m`): reads the edge list the bench wrote
(`target/bench-data/rmat_1m_16m.bin`: u64 num_nodes, u64 num_edges, then num_edges u32 sources and
num_edges u32 targets, little endian), turns it into an int64 `edge_index` (untimed, as our side
starts from its edge list), then times `to_undirected(edge_index, num_nodes=N)` followed by
`gcn_norm(edge_index, None, N, improved=False, add_self_loops=True)` (the output our CSR holds).

Peak memory: the rise of the process's peak resident set during the timed work, above the resident
set before it (Linux: the peak is reset through /proc/self/clear_refs first).

Usage: PYTHONPATH=/tmp/pyg python3 pyg_data.py EDGES.bin [--threads 2] [--reps 3]
Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_undirected
from peer_measure import reset_peak, status_kb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("edges")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    raw = np.fromfile(args.edges, dtype=np.uint8)
    n, m = np.frombuffer(raw[:16], dtype="<u8")
    ids = np.frombuffer(raw[16:], dtype="<u4", count=2 * int(m))
    edge_index = torch.from_numpy(ids.astype(np.int64)).view(2, int(m))
    del raw, ids
    n = int(n)

    def run():
        ei = to_undirected(edge_index, num_nodes=n)
        return gcn_norm(ei, None, n, improved=False, add_self_loops=True)

    times, peak = [], None
    for rep in range(args.reps + 1):
        exact_peak = reset_peak()
        before = status_kb("VmRSS")
        t = time.perf_counter()
        ei, w = run()
        dt = time.perf_counter() - t
        if rep == 0:  # warm-up; also the memory measurement
            peak = (status_kb("VmHWM") - before) * 1024 if exact_peak else None
            out_bytes = ei.numel() * ei.element_size() + w.numel() * w.element_size()
            nnz = ei.size(1)
        else:
            times.append(dt)
        del ei, w
    print(json.dumps({
        "peer": "pyg to_undirected + gcn_norm",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "num_nodes": n,
        "num_edges": int(m),
        "nnz": nnz,
        "median_s": statistics.median(times),
        "times_s": times,
        "peak_extra_bytes": peak,
        "output_bytes": out_bytes,
    }))


if __name__ == "__main__":
    main()
