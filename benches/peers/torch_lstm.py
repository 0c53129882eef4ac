"""Peer of benches/benches/seq.rs: forward + backward of torch.nn.LSTM (one layer, batch_first, float32,
CPU, loss = sum of outputs, gradients of the parameters) at the same shapes.

    PYTHONPATH=/path/to/torch python3 benches/peers/torch_lstm.py [threads]   # default 2 threads
Prints the median time per iteration of each shape in milliseconds.
"""
import statistics
import sys
import time

import torch

SHAPES = [(64, 100, 32, 128), (32, 29, 12, 64)]


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    torch.manual_seed(0)
    for b, t, i, h in SHAPES:
        lstm = torch.nn.LSTM(i, h, batch_first=True)
        x = torch.randn(b, t, i, requires_grad=True)
        params = list(lstm.parameters())

        def step():
            y, _ = lstm(x)
            torch.autograd.grad(y.sum(), params)

        for _ in range(5):
            step()
        times = []
        deadline = time.perf_counter() + 5.0
        while time.perf_counter() < deadline or len(times) < 20:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        print(f"torch.nn.LSTM B{b}_T{t}_I{i}_H{h}: {statistics.median(times) * 1e3:.3f} ms "
              f"(median of {len(times)}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
