#!/usr/bin/env python3
"""Writes the PyG Temporal interop fixture: state dicts, inputs, graph and outputs of PGT's
GConvGRU, GConvLSTM, DCRNN, TGCN and A3TGCN, for `crates/hybrid/tests/pgt_interop.rs`.

The layers are PyG Temporal 0.56.2's, built with a fixed seed on a small random directed
weighted graph with one self loop (every node has in- and out-edges: PGT's DConv divides by
both degrees). Each recurrent layer is run snapshot by snapshot for T steps, the hidden state
(and GConvLSTM's cell state) carried from one call to the next as PGT's examples do. A3TGCN
reads `periods` snapshots per call and restarts its T-GCN from the given state at each
period; its output is fed back as the next call's state, W calls in all.

Tensor names: `graph.edge_index` (2, E) int64, `graph.edge_weight` (E,), `x` (T, N, F),
`a3tgcn.x` (W, N, F, periods); `<layer>.state.<PGT parameter name>`; outputs
`<layer>.h` (T, N, H) (A3TGCN: (W, N, H)) and `gconvlstm.c` (T, N, H).
Sizes and the PGT/torch versions are in the safetensors metadata.

`torch_sparse` has no wheel for torch 2.13: an empty stand-in module is registered after
torch_geometric has been imported, only so that `torch_geometric_temporal` imports; these
layers never touch it.

Usage: PYTHONPATH=... python3 pgt_export.py [--out crates/hybrid/tests/fixtures/pgt_interop.safetensors]
"""
import argparse
import os
import sys
import types
from importlib.metadata import version

import torch
import torch_geometric  # noqa: F401  (imported before the stand-in below on purpose)
from safetensors.torch import save_file

if "torch_sparse" not in sys.modules:
    stub = types.ModuleType("torch_sparse")
    stub.SparseTensor = type("SparseTensor", (), {})
    sys.modules["torch_sparse"] = stub

from torch_geometric_temporal.nn.recurrent import A3TGCN, DCRNN, TGCN, GConvGRU, GConvLSTM  # noqa: E402

N, F, H, K, T = 6, 2, 4, 3, 5
PERIODS, WINDOWS = 4, 3
SEED = 21


def graph(gen):
    """A ring (every node has in- and out-edges), a few random extra edges and one self
    loop, weights in [0.5, 2), the edges in a random order."""
    edges = {(i, (i + 1) % N) for i in range(N)}
    edges |= {(0, 3), (4, 1), (2, 5), (5, 2), (3, 0)}
    edges.add((2, 2))
    edges = sorted(edges)
    perm = torch.randperm(len(edges), generator=gen).tolist()
    edges = [edges[i] for i in perm]
    edge_index = torch.tensor(edges, dtype=torch.long).t().contiguous()
    edge_weight = 0.5 + 1.5 * torch.rand(len(edges), generator=gen)
    return edge_index, edge_weight


def randomise(module, gen):
    """PGT initialises some parameters to zero (biases, b_i, ...): give every parameter a
    random value so that a wrong mapping cannot hide behind a zero."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument(
        "--out", default=os.path.join(root, "crates", "hybrid", "tests", "fixtures", "pgt_interop.safetensors")
    )
    args = ap.parse_args()
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    edge_index, edge_weight = graph(gen)
    x = torch.randn(T, N, F, generator=gen)
    out = {"graph.edge_index": edge_index, "graph.edge_weight": edge_weight, "x": x}

    layers = {
        "gconvgru": GConvGRU(F, H, K),
        "gconvlstm": GConvLSTM(F, H, K),
        "dcrnn": DCRNN(F, H, K),
        "tgcn": TGCN(F, H),
    }
    with torch.no_grad():
        for name, layer in layers.items():
            randomise(layer, gen)
            h, c, hs, cs = None, None, [], []
            for t in range(T):
                if name == "gconvlstm":
                    h, c = layer(x[t], edge_index, edge_weight, h, c)
                    cs.append(c)
                else:
                    h = layer(x[t], edge_index, edge_weight, h)
                hs.append(h)
            out[f"{name}.h"] = torch.stack(hs)
            if cs:
                out[f"{name}.c"] = torch.stack(cs)
            for k, v in layer.state_dict().items():
                out[f"{name}.state.{k}"] = v

        a3 = A3TGCN(F, H, PERIODS)
        randomise(a3, gen)
        xa = torch.randn(WINDOWS, N, F, PERIODS, generator=gen)
        h, hs = None, []
        for w in range(WINDOWS):
            h = a3(xa[w], edge_index, edge_weight, h)
            hs.append(h)
        out["a3tgcn.x"] = xa
        out["a3tgcn.h"] = torch.stack(hs)
        for k, v in a3.state_dict().items():
            out[f"a3tgcn.state.{k}"] = v

    out = {k: v.detach().contiguous() for k, v in out.items()}
    meta = {
        "torch": torch.__version__,
        "torch_geometric": version("torch_geometric"),
        "torch_geometric_temporal": version("torch_geometric_temporal"),
        "sizes": f"N={N} F={F} H={H} K={K} T={T} periods={PERIODS} windows={WINDOWS} seed={SEED}",
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    save_file(out, args.out, metadata=meta)
    print(f"wrote {len(out)} tensors to {args.out} ({os.path.getsize(args.out)} bytes); {meta}")


if __name__ == "__main__":
    main()
