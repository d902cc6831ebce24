"""Batching timeline: watch automatic batching group asynchronous requests.

Each request is a line from the moment it was submitted (upper row) to the moment its
result came back (lower row); requests batched together fan into one completion point.

    python auto-test.py
    python auto-test.py --niter=20 --interval=300 --AUTO_BATCH_TIMEOUT=100
    python auto-test.py --preset=1.3.2
"""

import sys

from ovsched import cli
from ovsched.run.presets import PRESETS
from ovsched.run.settings import DEFAULT_MODEL

# ---- settings: edit here, or override any of them as --key=value ----
model = DEFAULT_MODEL  # any model OpenVINO reads: IR .xml, .onnx, .tflite, TensorFlow .pb or SavedModel folder, .pdmodel; default googlenet-v1-tf IR (models.txt), if missing an offline stand-in
device = ["BATCH:CPU(8)", "AUTO", "CPU", "GPU", "AUTO:GPU", "BATCH:GPU(8)"][0]  # pick one; GPU ones need an Intel GPU
niter = 40  # requests to submit
interval = 30.0  # ms between two submits (request i is due at i*interval)
nireq = 16  # requests in the queue; 0 = the compiled model's optimal number
util_ms = 100.0  # ms between CPU/GPU/NPU utilization samples; 0 = off
gpu_util_ms = 1000.0  # ms between GPU utilization readings (each wakes the GPU; intel_gpu_top reads once a second)
util_raw = False  # True also writes what each utilization reader read to utilization_raw.jsonl (to replay in tests)
arrival = "fixed"  # fixed, poisson, burst, or a file of due times (ms, one a line)
seed = 0  # seed of poisson arrivals and of random input data (same seed, same data)
burst = 1  # requests due together every interval when arrival = "burst"
shape = ""  # input shapes as benchmark_app takes them: x[1,3,640,640] or x[1,3,640,640],y[1,10] or [1,3,640,640]; needed for dynamic dims other than the batch
layout = ""  # input layouts, e.g. x(NCHW) or [NHWC]; says which axis is the batch when a dynamic one is set to 1
input = "random"  # input data, made once: random (by seed, valid for each type), zeros, FILE.npz (one array per input name) or FILE.npy (one input)
profile = "auto"  # per-request compute time from OpenVINO's profiling (PERF_COUNT), read off the requests' threads: auto = on where the device is the CPU, on, off
show = True  # live window while running, final figure after (needs a display)
out = ""  # results folder; "" = a new runs/auto-test-<time>
properties = {  # OpenVINO properties for compile_model; --KEY= removes one
    "PERFORMANCE_HINT": ["THROUGHPUT", "LATENCY"][0],  # THROUGHPUT lets a GPU batch implicitly
    "ALLOW_AUTO_BATCHING": "YES",  # NO keeps THROUGHPUT on a GPU from batching
    # "AUTO_BATCH_TIMEOUT": "100",  # ms a batch waits to fill (default 1000)
    "PERFORMANCE_HINT_NUM_REQUESTS": "4",  # caps the requests (and batch) the hint plans for
    "CACHE_DIR": "./cache",  # compiled-model cache; speeds up the next compile
}
# ---------------------------------------------------------------------


def main(argv=None) -> int:
    return cli.run_script(argv, __file__, "timeline", globals(), PRESETS["timeline"])


if __name__ == "__main__":
    sys.exit(main())
