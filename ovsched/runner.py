"""Submitting requests on a fixed schedule and recording when each one completes.

The submit loop runs on its own thread so that whatever the main thread does (drawing,
waiting for a key) never delays a submit. The completion callback only stores a timestamp.
"""

import os
import threading
import time

import numpy as np
import openvino as ov

from .prepare import device_text, essential
from .records import Run

# How often AUTO/MULTI are asked which device runs new requests. AUTO answers at once;
# a plain CPU model can block for a whole inference, so it is asked only once.
DEVICE_POLL_S = 0.1
IDLE_GIVE_UP_S = 1.0


class Runner:
    """Submits ``niter`` requests, request i due at ``t0 + i*interval``, into a queue."""

    def __init__(self, compiled, nireq, niter, interval_ms, poll_device=False, device_name=""):
        self.compiled = compiled
        self.queue = ov.AsyncInferQueue(compiled, nireq)
        for request in self.queue:
            for tensor in request.input_tensors:
                tensor.data[...] = 0
        self.niter = niter
        self.interval_s = interval_ms / 1e3
        self.poll_device = poll_device
        self.scheduled = np.full(niter, np.nan)
        self.submitted = np.full(niter, np.nan)
        self.completed = np.full(niter, np.nan)
        self.infer_ms = np.full(niter, np.nan)
        self.slot = np.full(niter, -1, dtype=np.int32)
        self.device_code = np.zeros(niter, dtype=np.int16)
        self.device_names = [device_name]
        self.done_order = []  # request ids in completion order; list.append is atomic
        self.n_submitted = 0
        self.errors = []
        self.stop = threading.Event()
        self.stop_reason = None
        self.t0 = None
        self._idle_since = None
        self.priority = "default"
        self._thread = threading.Thread(target=self._submit_all, name="submit", daemon=True)
        self.queue.set_callback(self._completed)

    def _completed(self, request, i):
        try:
            self.completed[i] = time.perf_counter() - self.t0
            self.infer_ms[i] = request.latency
            self.done_order.append(i)
        except BaseException as e:  # raised on an OpenVINO thread: hand it to the main thread
            self._fail(f"completion callback of request {i}: {type(e).__name__}: {e}")

    def start(self):
        self.t0 = time.perf_counter()
        self._thread.start()

    def request_stop(self, reason):
        if not self.stop.is_set():
            self.stop_reason = reason
            self.stop.set()

    def _poll_device(self):
        name = device_text(self.compiled.get_property("EXECUTION_DEVICES"))
        if name not in self.device_names:
            self.device_names.append(name)
        return self.device_names.index(name)

    def _favour_this_thread(self):
        """Let the submit thread run first when it wakes, where the system allows it.

        With both cores busy (inference streams, the live view), a woken thread can wait a
        scheduler tick (~4 ms) for a core; a real-time priority removes that wait. It needs
        root, CAP_SYS_NICE or an rtprio limit; without them the default stays. Only when
        paced: a flooding loop (interval 0) should not outrank everything else."""
        if self.interval_s <= 0 or not hasattr(os, "sched_setscheduler"):
            return "default"
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))  # 0: this thread
        except OSError:
            return "default"
        return "SCHED_FIFO 1"

    def _submit_all(self):
        self.priority = self._favour_this_thread()
        try:
            code = self._poll_device() if self.poll_device else 0
            last_poll = time.perf_counter()
            for i in range(self.niter):
                due = i * self.interval_s
                self.scheduled[i] = due
                if self.poll_device and time.perf_counter() - last_poll >= DEVICE_POLL_S:
                    code = self._poll_device()
                    last_poll = time.perf_counter()
                wait = due - (time.perf_counter() - self.t0)
                if wait > 0 and self.stop.wait(wait):
                    break
                if self.stop.is_set():
                    break
                slot = self.queue.get_idle_request_id()  # blocks while every slot is busy
                if self.stop.is_set():
                    break
                self.slot[i] = slot
                self.device_code[i] = code
                self.submitted[i] = time.perf_counter() - self.t0
                self.queue.start_async(None, i)
                self.n_submitted = i + 1
        except BaseException as e:  # shown by the main thread once the requests in flight end
            self._fail(f"submitting request {self.n_submitted}: {type(e).__name__}: "
                       f"{essential(e)}")

    @property
    def n_completed(self):
        return len(self.done_order)

    @property
    def submitting(self):
        return self._thread.is_alive()

    def _all_idle(self):
        """True when no request of the queue is running (a failed one included)."""
        try:
            return all(request.wait_for(0) for request in self.queue)
        except Exception as e:  # the stored failure of an inference
            self._fail(f"inference failed: {essential(e)}")
            return True

    def _fail(self, text):
        if text not in self.errors:
            self.errors.append(text)
        self.request_stop("error")

    def finished(self):
        """Submitting is over and every submitted request has ended."""
        if self._thread.is_alive():
            return False
        if self.n_completed >= self.n_submitted:
            return True
        # OpenVINO does not call back for a request whose inference failed: once the
        # queue has been idle for a while, the missing completions are not coming.
        if self._all_idle():
            now = time.perf_counter()
            if self._idle_since is None:
                self._idle_since = now
            if now - self._idle_since >= IDLE_GIVE_UP_S:
                missing = self.n_submitted - self.n_completed
                self._fail(f"{missing} request(s) ended without a result (inference failed)")
                return True
        else:
            self._idle_since = None
        return False

    def wait(self, timeout):
        """Wait up to ``timeout`` seconds; True once every submitted request ended."""
        self._thread.join(timeout)
        if not self._thread.is_alive() and not self.finished():
            time.sleep(min(timeout, 0.01))
        if not self.finished():
            return False
        try:
            self.queue.wait_all()
        except Exception as e:  # a failed inference is re-raised here
            self._fail(f"inference failed: {essential(e)}")
        return True

    def to_run(self, summary=None):
        """The records of every submitted request, as a Run."""
        n = self.n_submitted
        devices = np.asarray(self.device_names, dtype=object)[self.device_code[:n]]
        return Run.from_arrays(self.scheduled[:n], self.submitted[:n], self.completed[:n],
                               self.slot[:n], devices, self.infer_ms[:n], summary)
