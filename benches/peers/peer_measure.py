"""How the peer scripts measure, in one place: fields of /proc/self/status, the peak
resident set as benches/README.md defines it, and the median timer.

Not a peer itself: `cargo xtask bench` runs only scripts whose name starts with a suite
prefix. The peers import it from their own folder (Python puts a script's folder first
on sys.path).
"""

import statistics
import time


def status_kb(key):
    """A field of /proc/self/status in kB (VmRSS, VmHWM); None off Linux or when absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak():
    """Resets the peak resident set (VmHWM) to the current one; False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mb(fn):
    """Runs fn once; the rise of the peak resident set above its size before, MiB (the
    contract of benches/README.md, as record_peak measures ours), or None where the peak
    cannot be reset or read."""
    exact = reset_peak()
    before = status_kb("VmRSS")
    fn()
    peak = status_kb("VmHWM")
    if not exact or before is None or peak is None:
        return None
    return max(peak - before, 0) / 1024.0


def median_ms(fn, reps, warmup=5):
    """Median milliseconds of fn over reps runs, after warmup runs not counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)
