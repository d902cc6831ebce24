"""A display for the window measurements: $DISPLAY if set, else an Xvfb of our own."""

import os
import shutil
import subprocess
import time


class Screen:
    """A display for the window measurements: $DISPLAY if set, else an Xvfb of our own."""

    def __init__(self):
        self.proc = None
        self.display = os.environ.get("DISPLAY") or None
        self.origin = f"{self.display} (from DISPLAY)" if self.display else None
        self.why = None

    @staticmethod
    def _free_number():
        for n in range(90, 400):
            if not (os.path.exists(f"/tmp/.X{n}-lock")
                    or os.path.exists(f"/tmp/.X11-unix/X{n}")):
                return n
        return None

    def start(self):
        if self.display:
            return
        if not shutil.which("Xvfb"):
            self.why = "DISPLAY is not set and Xvfb is not installed"
            return
        for _attempt in range(5):  # another X server may take the same number meanwhile
            n = self._free_number()
            if n is None:
                break
            proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x1024x24",
                                     "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            end = time.time() + 10
            while time.time() < end and proc.poll() is None:
                if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                    self.proc, self.display, self.origin = proc, f":{n}", f"Xvfb :{n}"
                    # in-process OpenCV windows read DISPLAY when the first one opens
                    os.environ["DISPLAY"] = self.display
                    return
                time.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.why = "Xvfb did not start"

    def pids(self):
        return (self.proc.pid,) if self.proc else ()

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if os.environ.get("DISPLAY") == self.display:
            del os.environ["DISPLAY"]
        self.proc = None
