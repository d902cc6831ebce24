"""The command line of both scripts: ``--key=value`` overrides, ``--help``, exit codes.

Light on purpose: Ctrl+C is taken over before OpenVINO, numpy and matplotlib are imported,
so that an interrupt at any moment ends cleanly.
"""

import os
import signal
import sys

from .errors import (EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Interrupted, RunError,
                     UsageError, say)
from .run.settings import resolve, script_settings


class Interrupt:
    """SIGINT stops submitting; the requests in flight finish and the results are written.

    A second SIGINT ends the process at once: for a compile that hangs, or a user who
    does not want to wait for the requests in flight."""

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
        # Only count and print: the main thread may be inside Event.set() right now, and
        # taking that lock again from here would deadlock. The main loop polls ``pending``.
        self.count += 1
        if self.count > 1:
            lost = ("the requests in flight and this run's results are not written"
                    if self.started else "nothing was run or written")
            print(f"\nsecond Ctrl+C: exiting now; {lost}", file=sys.stderr, flush=True)
            os._exit(EXIT_INTERRUPTED)
        if not self.started:
            print("\ninterrupted: stopping before the first request (Ctrl+C again exits at "
                  "once)", file=sys.stderr, flush=True)
        else:
            print("\nstopping: no new requests; waiting for the ones in flight (results will "
                  "be written; Ctrl+C again exits at once without them)", file=sys.stderr,
                  flush=True)

    @property
    def pending(self):
        return self.count > 0


def safe_output():
    """Never crash on a character the console cannot encode (a path with the user's name
    under a Windows code page, say): write an escape instead."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):  # not a TextIOWrapper, or already closed
            pass


def run_script(argv, script, kind, namespace, presets=None, usage=None, program=None):
    """Run the experiment a script defines by its settings block; return the exit code.

    ``program``: the process ends after this (it ignores a late Ctrl+C while it unloads);
    by default when ``argv`` is None, i.e. the words come from the command line."""
    safe_output()
    program = argv is None if program is None else program
    argv = sys.argv[1:] if argv is None else list(argv)
    defaults = script_settings(namespace)
    properties = namespace["properties"]
    with Interrupt(keep=program) as interrupt:
        from .run import experiment
        if interrupt.pending:
            print("interrupted before the first request: nothing written", file=sys.stderr)
            return EXIT_INTERRUPTED
        if any(a in ("-h", "--help") for a in argv):
            from .run.help import help_text
            import openvino as ov
            print(help_text(script, kind, defaults, properties, presets or {},
                            experiment.devices_line(), ov.get_version(), usage))
            return EXIT_OK
        return _run(argv, script, kind, defaults, properties, presets or {}, interrupt,
                    experiment)


def run_experiment_command(kind, argv, usage, program=False):
    """``ovsched timeline`` / ``ovsched latency``: the script's experiment with the defaults
    of its settings block as shipped (the settings schema), from any folder."""
    from .run import schema
    from .run.presets import PRESETS
    namespace = dict(schema.defaults(kind), properties=schema.properties(kind))
    return run_script(argv, schema.SCRIPTS[kind], kind, namespace, PRESETS[kind], usage=usage,
                      program=program)


def _run(argv, script, kind, defaults, properties, presets, interrupt, experiment):
    try:
        r = resolve(argv, defaults, properties, presets, has_gpu=experiment.has_gpu)
        result = experiment.run_experiment(
            r.settings, r.properties, kind=kind, script=script, say=say,
            interrupt=interrupt, model_given=r.model_given, preset=r.preset,
            preset_about=r.preset_about, preset_note=r.preset_note, given=r.given)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.interrupted or interrupt.pending:
        return EXIT_INTERRUPTED
    experiment.show(result, interrupt)
    return EXIT_INTERRUPTED if interrupt.pending else EXIT_OK
