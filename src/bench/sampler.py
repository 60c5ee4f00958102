"""A command's wall time and the peak memory of its process tree, measured from outside (`measure`).

Memory is the proportional set size (resident pages, a page shared by n processes counted 1/n
in each), so that worker processes sharing torch's libraries and the memory-mapped data are not
counted several times over. Why the sampling is sparse: docs/performance.md.
"""
import subprocess
import threading
import time

import psutil

# Memory samples: at most every SAMPLE_EVERY_S, and rarer when a sample is costly, so that the
# sampling takes at most SAMPLER_SHARE of one core.
SAMPLE_EVERY_S = 0.5
SAMPLER_SHARE = 0.02


def _tree_pss(proc):
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(cmd, env=None):
    """Run ``cmd``; return ``(wall seconds, peak PSS of its process tree in MB, stdout)``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    watched, peak, output, done = psutil.Process(proc.pid), [0], [], threading.Event()

    def sample():
        while proc.poll() is None:
            tic = time.perf_counter()
            try:
                peak[0] = max(peak[0], _tree_pss(watched))
            except psutil.NoSuchProcess:
                break
            if done.wait(max(SAMPLE_EVERY_S, (time.perf_counter() - tic) / SAMPLER_SHARE)):
                break

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in proc.stdout:
        output.append(line)
    proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join(timeout=2)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{''.join(output[-30:])}")
    return wall, peak[0] / 2 ** 20, "".join(output)
