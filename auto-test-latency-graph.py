"""AUTO latency graph: watch the AUTO device plugin move work from the CPU to an accelerator.

AUTO starts inference on the CPU while the accelerator compiles the model, then sends new
requests to the accelerator; the graph shows the latency of every request in submission
order and marks the switch. On a machine with only a CPU there is no switch to see.

    python auto-test-latency-graph.py
    python auto-test-latency-graph.py --PERFORMANCE_HINT=LATENCY --niter=500
    python auto-test-latency-graph.py --preset=1.2.4
"""

import sys

from ovsched import cli
from ovsched.run.presets import PRESETS
from ovsched.run.settings import DEFAULT_MODEL

# ---- settings: edit here, or override any of them as --key=value ----
model = DEFAULT_MODEL  # any model OpenVINO reads: IR .xml, .onnx, .tflite, TensorFlow .pb or SavedModel folder, .pdmodel; default googlenet-v1-tf IR (models.txt), if missing an offline stand-in
device = ["AUTO", "AUTO:GPU,CPU", "CPU", "GPU"][0]  # pick one; AUTO starts on the CPU
niter = 2000  # requests to submit
interval = 30.0  # ms between two submits (request i is due at i*interval)
nireq = 0  # requests in the queue; 0 = the compiled model's optimal number
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
show = True  # live graph while running, final figure after (needs a display)
out = ""  # results folder; "" = a new runs/auto-test-latency-graph-<time>
properties = {  # OpenVINO properties for compile_model; --KEY= removes one
    "PERFORMANCE_HINT": ["THROUGHPUT", "LATENCY"][0],  # THROUGHPUT batches on a GPU: jittery
    # "CACHE_DIR": "./cache",  # a cached GPU blob makes AUTO skip the CPU phase
    # "ALLOW_AUTO_BATCHING": "NO",  # keeps THROUGHPUT on a GPU from batching
    # "AUTO_BATCH_TIMEOUT": "1000",  # ms a batch waits to fill
}
# ---------------------------------------------------------------------


def main(argv=None) -> int:
    return cli.run_script(argv, __file__, "latency", globals(), PRESETS["latency"])


if __name__ == "__main__":
    sys.exit(main())
