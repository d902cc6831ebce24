"""Where saved runs were measured: a short line per machine, shown when runs differ."""

# What tells two machines apart; software versions are shown but do not make another
# machine (OpenVINO differs between runs of one machine as often as not).
IDENTITY = ("cpu_model", "logical_cores", "memory_gb")
UNKNOWN = "machine unknown (saved before runs recorded it)"


def machine_text(machine):
    """'CPU model, N cores, memory GB, OS release, devices, OpenVINO version' of a summary's
    ``machine`` block; UNKNOWN without one."""
    if machine is None:
        return UNKNOWN
    os_info = machine.os or {}
    parts = [_known(machine.cpu_model), f"{_known(machine.logical_cores)} cores",
             f"{_known(machine.memory_gb)} GB",
             f"{os_info.get('system', '?')} {os_info.get('release', '')}".strip()]
    devices = machine.devices
    if isinstance(devices, dict):
        named = [f"{d} {p.get('FULL_DEVICE_NAME', '')}".strip() for d, p in devices.items()
                 if d != "CPU"]
        parts += named
    parts.append(f"OpenVINO {_known(machine.openvino)}")
    return ", ".join(parts)


def _known(value):
    return "?" if value is None else str(value)


def identity(machine):
    if machine is None:
        return None
    os_info = machine.os or {}
    devices = machine.devices
    names = tuple(sorted(f"{d}={p.get('FULL_DEVICE_NAME')}" for d, p in devices.items())) \
        if isinstance(devices, dict) else ()
    return (tuple(str(getattr(machine, k)) for k in IDENTITY)
            + (os_info.get("system"), os_info.get("release"), names))


def machines_text(runs, labels):
    """One 'label: machine' line per run when the runs come from different machines (or
    some runs cannot say where they came from); [] when all were measured on one machine."""
    machines = [run.summary.machine for run in runs]
    if len({identity(m) for m in machines}) <= 1 and all(m is not None for m in machines):
        return []
    return [f"{label}: {machine_text(m)}" for label, m in zip(labels, machines)]
