"""The article's experiments as presets (``--preset=NAME``).

Each names the article's section, its settings, and what the reader should see. Where the
article used a GPU and this machine has none, ``no_gpu`` says what stands in for it.
"""

# On a CPU-only machine the GPU's implicit batching is shown with an explicit BATCH device
# of the article's 16 requests: BATCH:CPU(16) really batches on the CPU.
CPU_BATCH = {"device": "BATCH:CPU(16)",
             "why": "no GPU here: BATCH:CPU(16) batches on the CPU as the GPU would"}

PRESETS = {
    "latency": {
        "1.2.3": {
            "about": "AUTO, THROUGHPUT: low latency on the CPU, then higher and jittery "
                     "after the switch to a GPU (auto-batching)",
            "settings": {"device": "AUTO", "niter": 2000, "interval": 30.0, "nireq": 0},
            "properties": {"PERFORMANCE_HINT": "THROUGHPUT"},
            "remove": ("CACHE_DIR",),
        },
        "1.2.4": {
            "about": "AUTO, LATENCY: after the switch to a GPU latency is small and steady, "
                     "no auto-batching",
            "settings": {"device": "AUTO", "niter": 2000, "interval": 30.0, "nireq": 0},
            "properties": {"PERFORMANCE_HINT": "LATENCY"},
            "remove": ("CACHE_DIR",),
        },
    },
    "timeline": {
        "1.3.1": {
            "about": "AUTO, LATENCY, 20 requests 30 ms apart, 1 in the queue: each request "
                     "runs on its own",
            "settings": {"device": "AUTO", "niter": 20, "interval": 30.0, "nireq": 1},
            "properties": {"PERFORMANCE_HINT": "LATENCY"},
            "remove": ("PERFORMANCE_HINT_NUM_REQUESTS",),
        },
        "1.3.2": {
            "about": "GPU, THROUGHPUT, auto-batching, 200 requests 30 ms apart, 16 in the "
                     "queue: requests complete in groups of 16, out of order",
            "settings": {"device": "GPU", "niter": 200, "interval": 30.0, "nireq": 16},
            # the hint's request count caps the GPU's implicit batch: without it the batch
            # is OPTIMAL_BATCH_SIZE, which can exceed 16 and then never fills from 16
            "properties": {"PERFORMANCE_HINT": "THROUGHPUT", "ALLOW_AUTO_BATCHING": "YES",
                           "PERFORMANCE_HINT_NUM_REQUESTS": "16"},
            "remove": ("AUTO_BATCH_TIMEOUT",),
            "batch_size": 16,
            "no_gpu": CPU_BATCH,
        },
        "1.3.3a": {
            "about": "GPU, THROUGHPUT, 20 requests 300 ms apart, default 1000 ms timeout: "
                     "batches never fill, each waits for the timer",
            "settings": {"device": "GPU", "niter": 20, "interval": 300.0, "nireq": 16},
            "properties": {"PERFORMANCE_HINT": "THROUGHPUT", "ALLOW_AUTO_BATCHING": "YES"},
            "remove": ("PERFORMANCE_HINT_NUM_REQUESTS", "AUTO_BATCH_TIMEOUT"),
            "no_gpu": CPU_BATCH,
        },
        "1.3.3b": {
            "about": "as 1.3.3a with AUTO_BATCH_TIMEOUT=100: within 100 ms only one request "
                     "arrives, so each runs alone when the timer expires, after a short wait",
            "settings": {"device": "GPU", "niter": 20, "interval": 300.0, "nireq": 16},
            "properties": {"PERFORMANCE_HINT": "THROUGHPUT", "ALLOW_AUTO_BATCHING": "YES",
                           "AUTO_BATCH_TIMEOUT": "100"},
            "remove": ("PERFORMANCE_HINT_NUM_REQUESTS",),
            "no_gpu": CPU_BATCH,
        },
    },
}
