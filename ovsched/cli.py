"""Entry point of both scripts. Light on purpose: Ctrl+C is taken over before OpenVINO,
numpy and matplotlib are imported, so that an interrupt at any moment ends cleanly."""

import signal
import sys

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Interrupt:
    """SIGINT stops submitting; the requests in flight finish and the results are written."""

    def __init__(self, keep=False):
        self.count = 0
        self.started = False
        self.keep = keep
        self._previous = None

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.keep:
            # A program whose results are written ignores a late Ctrl+C while the
            # interpreter unloads OpenVINO, instead of dying half-way through its exit.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame):
        # Only count: the main thread may be inside Event.set() right now, and taking
        # that lock again from here would deadlock. The main loop polls ``pending``.
        self.count += 1
        if self.count > 1:
            return
        if not self.started:
            print("\ninterrupted: stopping before the first request", file=sys.stderr,
                  flush=True)
        else:
            print("\nstopping: no new requests; waiting for the ones in flight "
                  "(results will be written)", file=sys.stderr, flush=True)

    @property
    def pending(self):
        return self.count > 0


def run_script(argv, script, kind, namespace, presets=None):
    """Gather the run settings and properties a script defines at its top and run it."""
    program = argv is None
    argv = sys.argv[1:] if program else list(argv)
    with Interrupt(keep=program) as interrupt:
        from . import experiment  # the heavy imports, under the handler
        if interrupt.pending:
            print("interrupted before the first request: nothing written", file=sys.stderr)
            return EXIT_INTERRUPTED
        settings = {k: namespace[k] for k in experiment.RUN_KEYS}
        return experiment.main(argv, script=script, kind=kind, settings=settings,
                               properties=namespace["properties"], presets=presets or {},
                               interrupt=interrupt)
