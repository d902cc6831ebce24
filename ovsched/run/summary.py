"""The summary of a run as the run stage leaves it: effective settings, what OpenVINO
reported, how the run ended (the derived parts come after, from derive/derived.py)."""

import os
from typing import List

import openvino as ov

from ..data.parts import (Batching, ModelInfo, OwnCost, Port, Profile, Summary,
                          WakeLateness)
from ..data.runfile import from_json
from . import arrival


def summarize(p, m, c, e):
    """The summary of the run: effective settings, what OpenVINO reported, how it ended."""
    runner = e.runner
    model = ModelInfo(
        path=m.path, name=os.path.splitext(os.path.basename(p.settings["model"]))[0],
        standin=m.standin, inputs=from_json(List[Port], m.inputs),
        outputs=from_json(List[Port], m.outputs), reshaped=m.reshaped, format=m.format,
        shapes=m.shapes, input_data=p.settings["input"],
        note="stand-in with random weights: timing only, not accuracy" if m.standin else None)
    return Summary(
        script=os.path.basename(p.script), kind=p.kind, openvino_version=ov.get_version(),
        started_at=e.started_at, preset=p.preset, preset_note=p.preset_note,
        settings=p.settings, properties=p.properties, model=model, device=p.device,
        execution_devices=c.execution_devices, optimal_number_of_infer_requests=c.optimal,
        nireq=c.nireq, num_streams=c.streams.get("NUM_STREAMS"),
        inference_num_threads=c.streams.get("INFERENCE_NUM_THREADS"), compile_s=c.compile_s,
        compile_started_s=c.compile_started - runner.t0,
        queue_created_s=runner.queue_created_s,
        queue_created_end_s=runner.queue_created_end_s,
        device_readings=runner.device_readings(), submit_thread_priority=runner.priority,
        batching=from_json(Batching, c.batching), interrupted=e.interrupted,
        cut_short=runner.n_submitted < p.settings["niter"],
        stop_reason=runner.stop_reason if runner.stop.is_set() else None,
        stopped_at_request=runner.n_submitted if runner.stop.is_set() else None,
        own_cpu=from_json(OwnCost, e.own_cpu), arrival=arrival.describe(p.settings),
        wake_probe=from_json(WakeLateness, e.wake.summary(runner.t0)) if e.wake else None,
        warnings=p.warnings, notes=p.notes, errors=runner.errors,
        profile=profile_block(c, runner))


def profile_block(c, runner):
    """The profile decision and what the reader did, for the summary."""
    block = c.profile.block() if c.profile is not None else {"on": False}
    if runner.profiles is not None:
        block.update(runner.profiles.block(runner.n_submitted))
    return from_json(Profile, block)
