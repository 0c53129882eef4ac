"""Peer of benches/benches/seq.rs: forward + backward of torch.nn.LSTM (one layer, batch_first, float32,
CPU, loss = sum of outputs, gradients of the parameters) at the same shapes.

    PYTHONPATH=/path/to/torch python3 benches/peers/torch_lstm.py [--json]
Threads come from SEQGRAPH_BENCH_THREADS, else OMP_NUM_THREADS, else 2 (as the bench runner sets them).
Prints the median time per iteration of each shape in milliseconds; with --json, one object per line
named after the cases of benches/benches/seq.rs (the contract of benches/README.md):
- `lstm_fwd_bwd/fused/...`: torch.nn.LSTM as it runs by default on the CPU, whose float32 path is
  oneDNN's fused RNN kernel (`torch.backends.mkldnn.enabled`, the default);
- `lstm_fwd_bwd/explicit/...`: the same module with oneDNN turned off, where ATen runs its own loop of
  per-step ops (input projection once, then linear on the hidden state, chunk, sigmoid/tanh, mul/add
  per step, all recorded by autograd): the peer of our explicit step-by-step loop.
"""
import json
import os
import statistics
import sys
import time

import torch
from peer_measure import peak_mb

SHAPES = [(64, 100, 32, 128), (32, 29, 12, 64)]


def main():
    as_json = "--json" in sys.argv[1:]
    threads = os.environ.get("SEQGRAPH_BENCH_THREADS") or os.environ.get("OMP_NUM_THREADS") or "2"
    torch.set_num_threads(int(threads))
    torch.manual_seed(0)
    for (b, t, i, h), (function, onednn) in [(s, f) for s in SHAPES for f in (("fused", True), ("explicit", False))]:
        torch.manual_seed(0)
        lstm = torch.nn.LSTM(i, h, batch_first=True)
        x = torch.randn(b, t, i, requires_grad=True)
        params = list(lstm.parameters())
        torch.backends.mkldnn.enabled = onednn

        def step():
            y, _ = lstm(x)
            torch.autograd.grad(y.sum(), params)

        peak = peak_mb(step)  # before the warm-up, as ours is measured before criterion's iterations
        for _ in range(5):
            step()
        times = []
        deadline = time.perf_counter() + 5.0
        while time.perf_counter() < deadline or len(times) < 20:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        median_ms = statistics.median(times) * 1e3
        what = "oneDNN kernel" if onednn else "oneDNN off: ATen per-step loop"
        if as_json:
            print(json.dumps({"case": f"lstm_fwd_bwd/{function}/B{b}_T{t}_I{i}_H{h}", "peer_ms": median_ms,
                              "peer_peak_mb": peak,
                              "peer": f"torch.nn.LSTM ({what}), torch {torch.__version__}"}))
        else:
            print(f"torch.nn.LSTM ({what}) B{b}_T{t}_I{i}_H{h}: {median_ms:.3f} ms "
                  f"(median of {len(times)}, {torch.get_num_threads()} threads, peak +{peak} MiB)")
    torch.backends.mkldnn.enabled = True


if __name__ == "__main__":
    main()
