"""Submitting requests on a schedule and recording when each one completes.

The submit loop runs on its own thread so that whatever the main thread does (drawing,
waiting for a key) never delays a submit. The completion callback only stores a timestamp.
"""

import os
import threading
from queue import Empty, SimpleQueue
import time

import numpy as np
import openvino as ov

from ..errors import essential
from ..data.records import Run
from ..derive.switch import UNREAD, DeviceLog, normalise
from .profile import ProfileReader

IDLE_GIVE_UP_S = 1.0
# A sleep is cut into pieces no longer than this, so that a stop is seen quickly.
STOP_CHECK_S = 0.05
# The device reader wakes for completions (and for the end); with none, this rarely: once
# the device is settled no completion wakes it, and each wake costs CPU time.
READER_WAKE_S = 1.0



class Runner:
    """Submits one request per due time (seconds from the start) into a queue of ``nireq``.

    ``inputs`` maps input index to the array every request sends (zeros when not given).
    ``poll_device`` (AUTO/MULTI, where reading it never blocks): read EXECUTION_DEVICES
    before every submit and after completions while AUTO's CPU helper may run requests,
    less often once it names another device (``switch.DeviceLog.read_if_due``), and once
    at the end; otherwise ``device_name`` stands for all (a plain device model can block a
    reading for a whole inference)."""

    def __init__(self, compiled, nireq, due_s, poll_device=False, device_name="", inputs=None,
                 profile=False, unbatched=False):
        self.compiled = compiled
        due_s = np.asarray(due_s, dtype=float)
        self.niter = len(due_s)
        self.nireq = nireq
        self.due_s = due_s
        self.paced = bool(due_s.size > 1 and np.any(np.diff(due_s) > 0))
        # Automatic batching starts each worker's timer when the queue creates its requests:
        # that moment, on the records' clock, places the first timer expiry. The queue is
        # the first and only creator of infer requests on this compiled model, so slot s
        # belongs to the batch worker s // batch.
        self.queue_created = time.perf_counter()
        self.queue = ov.AsyncInferQueue(compiled, nireq)
        self.queue_created_end = time.perf_counter()
        self._fill_inputs(inputs or {})
        self.poll_device = poll_device
        self.run = Run.empty(self.niter)
        self.callback_cpu_s = np.zeros(self.niter)
        self.submit_cpu_s = 0.0
        self.reader_cpu_s = 0.0  # the device reader's own CPU time (AUTO/MULTI)
        # the last reading at each submit; ``device_unread`` where it was not read then
        # (the live view shows the last reading; the records fill it in: DeviceLog.fill)
        self.device_code = np.zeros(self.niter, dtype=np.int16)
        self.device_unread = np.zeros(self.niter, dtype=np.uint8)
        self.device_done_code = np.full(self.niter, -1, dtype=np.int16)
        self.devices = DeviceLog(compiled, self._clock, device_name)
        # The submit loop, the callback and the device reader write through memoryviews of
        # the same arrays: the same values, without numpy's item assignment, which costs a
        # thread woken from a sleep several microseconds a request
        self._w = {name: memoryview(self.run.columns[name]) for name in (
            "scheduled_s", "submitted_s", "completed_s", "queue_wait_ms", "infer_ms", "slot")}
        self._w["device_code"] = memoryview(self.device_code)
        self._w["device_unread"] = memoryview(self.device_unread)
        self._w["callback_cpu_s"] = memoryview(self.callback_cpu_s)
        self._w["device_done_code"] = memoryview(self.device_done_code)
        # completions wake the device reader; a SimpleQueue's put costs the callback a
        # third of an Event's set
        self._completion = SimpleQueue()
        self._reader = None
        self._reader_end = threading.Event()
        self.done_order = []  # request ids in completion order; list.append is atomic
        self.n_submitted = 0
        self.errors = []
        self.stop = threading.Event()
        self.stop_reason = None
        self.t0 = None
        self._idle_since = None
        self.priority = "default"
        self.profiles = None
        if profile:  # read on a thread of its own, behind a gate per slot (profile.py)
            busy = (lambda: self.n_submitted > len(self.done_order)) if unbatched else None
            self.profiles = ProfileReader(self.queue, self.niter, self._clock,
                                          self.run.columns["slot"], lambda: self.done_order, busy,
                                          self._favour_this_thread)
        self._owner = [-1] * nireq  # the last request submitted into each slot
        self._thread = threading.Thread(target=self._submit_all, name="submit", daemon=True)
        self.queue.set_callback(self._completed)

    def _fill_inputs(self, inputs):
        for request in self.queue:
            for k, tensor in enumerate(request.input_tensors):
                if k in inputs:
                    tensor.data[...] = inputs[k]
                else:
                    tensor.data[...] = 0

    def _completed(self, request, i):
        cpu0 = time.thread_time()
        try:
            w = self._w
            w["completed_s"][i] = time.perf_counter() - self.t0
            w["infer_ms"][i] = request.latency
            self.done_order.append(i)
            if self.poll_device:
                if self.devices.settled:  # no reading is due: the neighbours' decide
                    w["device_done_code"][i] = UNREAD
                else:
                    self._completion.put(None)  # the device reader stamps it, off this thread
            if self.profiles is not None:
                self.profiles.completed()
        except BaseException as e:  # raised on an OpenVINO thread: hand it to the main thread
            self._fail(f"completion callback of request {i}: {type(e).__name__}: {e}")
        self._w["callback_cpu_s"][i] = time.thread_time() - cpu0

    @property
    def device_names(self):
        return self.devices.names

    def _clock(self):
        return time.perf_counter() - self.t0

    def start(self):
        self.t0 = time.perf_counter()
        if self.poll_device:
            self._reader = threading.Thread(target=self._read_completions_timed,
                                            name="device reader", daemon=True)
            self._reader.start()
        if self.profiles is not None:
            self.profiles.start()
        self._thread.start()

    def _read_completions_timed(self):
        cpu0 = time.thread_time()
        try:
            self._read_completions()
        finally:
            self.reader_cpu_s = time.thread_time() - cpu0

    def _read_completions(self):
        """Read EXECUTION_DEVICES after completions and stamp the requests completed since
        the last reading: not on OpenVINO's callback thread, which must return quickly."""
        seen = 0
        while True:
            try:
                self._completion.get(timeout=READER_WAKE_S)
                while True:  # one reading for every completion signalled so far
                    self._completion.get_nowait()
            except Empty:
                pass
            ending = self._reader_end.is_set()  # set once every completion was signalled
            n = len(self.done_order)
            done_code = self._w["device_done_code"]
            # completions while the device was settled are marked UNREAD: no reading for them
            waiting = [i for i in self.done_order[seen:n] if done_code[i] != UNREAD]
            seen = n
            if waiting:
                code = self.devices.read()
                for i in waiting:
                    done_code[i] = code
            if ending:  # a reading after the last completion: the last requests' neighbour
                self.devices.read()
                return

    def request_stop(self, reason):
        if not self.stop.is_set():
            self.stop_reason = reason
            self.stop.set()

    def _favour_this_thread(self):
        """Let the submit thread run first when it wakes, where the system allows it.

        With both cores busy (inference streams, the live view), a woken thread can wait a
        scheduler tick (~4 ms) for a core; a real-time priority removes that wait. It needs
        root, CAP_SYS_NICE or an rtprio limit on Linux; Windows and macOS have no such call
        here, and the default stays. Only when paced: a flooding loop should not outrank
        everything else."""
        if not self.paced or not hasattr(os, "sched_setscheduler"):
            return "default"
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))  # 0: this thread
        except OSError:
            return "default"
        return "SCHED_FIFO 1"

    def _sleep_until(self, due):
        """Sleep until ``due`` seconds after the start; False when stopped meanwhile.

        time.sleep, not Event.wait: on Windows since Python 3.11 it uses a high-resolution
        timer, where Event.wait ends on the 15.6 ms system tick. No busy spin: on a small
        machine a spinning thread takes a core from the inference."""
        while True:
            if self.stop.is_set():
                return False
            left = due - (time.perf_counter() - self.t0)
            if left <= 0:
                return True
            time.sleep(min(left, STOP_CHECK_S))

    def _submit_all(self):
        self.priority = self._favour_this_thread()
        cpu0 = time.thread_time()
        try:
            self._submit_loop()
        except BaseException as e:  # shown by the main thread once the requests in flight end
            self._fail(f"submitting request {self.n_submitted}: {type(e).__name__}: "
                       f"{essential(e)}")
        self.submit_cpu_s = time.thread_time() - cpu0

    def _submit_loop(self):
        c = self._w
        due_s = self.due_s.tolist()
        for i in range(self.niter):
            due = due_s[i]
            c["scheduled_s"][i] = due
            if not self._sleep_until(due):
                break
            full = self.n_submitted - len(self.done_order) >= self.nireq
            asked = time.perf_counter()
            slot = self.queue.get_idle_request_id()  # blocks while every slot is busy
            if self.stop.is_set():
                break
            # read before the submit stamp: a reading of the accelerator then proves the
            # request went to it (AUTO had released its helper already)
            code = self.devices.read_if_due() if self.poll_device else 0
            if code == UNREAD:
                c["device_unread"][i] = 1
                code = self.devices.last_code
            if self.profiles is not None:
                owner = self._owner[slot]
                # a request that never called back (failed) left no profile to wait for
                owner_done = owner >= 0 and not np.isnan(c["completed_s"][owner])
                self.profiles.claim(slot, i, owner_done, self.stop)
                self._owner[slot] = i
            now = time.perf_counter()
            # only a full queue makes this call wait for a slot; otherwise any time in it
            # is the interpreter's, not back-pressure
            c["queue_wait_ms"][i] = (now - asked) * 1e3 if full else 0.0
            if self.profiles is not None and not full:
                # a slot held back for its profile is not free either
                c["queue_wait_ms"][i] = self.profiles.gate_wait_ms[i]
            c["slot"][i] = slot
            c["device_code"][i] = code
            c["submitted_s"][i] = now - self.t0
            self.queue.start_async(None, i)
            self.n_submitted = i + 1

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
        if self._reader is not None:
            self._reader_end.set()
            self._completion.put(None)
            self._reader.join()
        if self.profiles is not None:
            self.profiles.finish()
        return True

    @property
    def queue_created_s(self):
        """When the queue began making its requests, on the records' clock (before 0)."""
        return self.queue_created - self.t0 if self.t0 is not None else None

    @property
    def queue_created_end_s(self):
        """When the queue had made its requests, on the records' clock."""
        return self.queue_created_end - self.t0 if self.t0 is not None else None

    def device_readings(self):
        """EXECUTION_DEVICES as read during the run (AUTO/MULTI), for the summary."""
        return self.devices.summary() if self.poll_device else None

    def to_run(self, summary=None):
        """The records of every submitted request, as a Run: ``device`` read at the submit,
        ``device_done`` after the completion ("" if none), AUTO's ``(CPU)`` named CPU."""
        n = self.n_submitted
        columns = self.run.columns
        device_code = np.where(self.device_unread[:n] == 1, UNREAD, self.device_code[:n])
        device_code = self.devices.fill(device_code, columns["submitted_s"][:n])
        done = self.devices.fill(self.device_done_code[:n], columns["completed_s"][:n])
        names = np.asarray([normalise(d) for d in self.device_names] + [""], dtype=object)
        devices = names[device_code]
        completed = ~np.isnan(columns["completed_s"][:n])
        if not self.poll_device:  # one device throughout: its completions ran there too
            done[completed] = 0
        done[~completed] = -1
        extra = self.profiles.columns(n) if self.profiles is not None else {}
        return self.run.head(n, summary or {}, device=devices, device_done=names[done], **extra)
