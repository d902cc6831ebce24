"""Where saved runs were measured: a short line per machine, shown when runs differ."""

# What tells two machines apart; software versions are shown but do not make another
# machine (OpenVINO differs between runs of one machine as often as not).
IDENTITY = ("cpu_model", "logical_cores", "memory_gb")
UNKNOWN = "machine unknown (saved before runs recorded it)"


def machine_text(machine):
    """'CPU model, N cores, memory GB, OS release, devices, OpenVINO version' of a summary's
    ``machine`` block; UNKNOWN without one."""
    if not machine:
        return UNKNOWN
    os_info = machine.get("os") or {}
    parts = [str(machine.get("cpu_model", "?")), f"{machine.get('logical_cores', '?')} cores",
             f"{machine.get('memory_gb', '?')} GB",
             f"{os_info.get('system', '?')} {os_info.get('release', '')}".strip()]
    devices = machine.get("devices")
    if isinstance(devices, dict):
        named = [f"{d} {p.get('FULL_DEVICE_NAME', '')}".strip() for d, p in devices.items()
                 if d != "CPU"]
        parts += named
    parts.append(f"OpenVINO {machine.get('openvino', '?')}")
    return ", ".join(parts)


def identity(machine):
    if not machine:
        return None
    os_info = machine.get("os") or {}
    devices = machine.get("devices")
    names = tuple(sorted(f"{d}={p.get('FULL_DEVICE_NAME')}" for d, p in devices.items())) \
        if isinstance(devices, dict) else ()
    return (tuple(str(machine.get(k)) for k in IDENTITY)
            + (os_info.get("system"), os_info.get("release"), names))


def machines_text(runs, labels):
    """One 'label: machine' line per run when the runs come from different machines (or
    some runs cannot say where they came from); [] when all were measured on one machine."""
    machines = [run.summary.get("machine") for run in runs]
    if len({identity(m) for m in machines}) <= 1 and all(machines):
        return []
    return [f"{label}: {machine_text(m)}" for label, m in zip(labels, machines)]
