"""Where a run was measured: CPU, OS, Python, OpenVINO and its devices, load at start."""

import os
import platform
import subprocess
import sys

try:
    import psutil
except ImportError:
    psutil = None


def _cpu_model():
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip() in ("model name", "Hardware", "Model") and value.strip():
                        return value.strip()
        except OSError:
            pass
    elif sys.platform == "win32":
        try:
            import winreg
            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                                 r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")
            return winreg.QueryValueEx(key, "ProcessorNameString")[0].strip()
        except OSError:
            pass
    elif sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 check=False, capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or "unknown: the OS did not name the CPU"


def _os_info():
    info = {"system": platform.system(), "release": platform.release(),
            "version": platform.version(), "platform": platform.platform()}
    if hasattr(platform, "freedesktop_os_release"):
        try:
            info["distribution"] = platform.freedesktop_os_release().get("PRETTY_NAME")
        except OSError:
            pass
    return info


def _load_average():
    if not hasattr(os, "getloadavg"):
        return f"unknown: {platform.system()} has no load average"
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError as e:
        return f"unknown: {e}"


def _openvino_version():
    try:
        import openvino as ov
    except ImportError as e:
        return f"unknown: {e}"
    return ov.get_version()


def device_info(core):
    """{device: {FULL_DEVICE_NAME, DEVICE_ARCHITECTURE, any *DRIVER* property}} as reported."""
    out = {}
    try:
        available = core.available_devices
    except Exception as e:  # noqa: BLE001 -- a broken plugin must not stop the run
        return f"unknown: {type(e).__name__}: {e}"
    for device in available:
        props = {}
        try:
            supported = [str(p) for p in core.get_property(device, "SUPPORTED_PROPERTIES")]
        except RuntimeError:
            supported = ["FULL_DEVICE_NAME"]
        wanted = [p for p in supported
                  if p in ("FULL_DEVICE_NAME", "DEVICE_ARCHITECTURE") or "DRIVER" in p]
        for name in wanted:
            try:
                props[name] = str(core.get_property(device, name))
            except RuntimeError as e:
                props[name] = f"unknown: {e}"
        out[device] = props
    return out


def machine_info(core=None):
    """Facts about this machine for a run's summary; with an OpenVINO ``core``, its devices."""
    info = {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": (psutil.cpu_count(logical=False) if psutil else None)
        or "unknown: psutil could not tell",
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1) if psutil
        else "unknown: psutil is not installed",
        "os": _os_info(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openvino": _openvino_version(),
        "load_average_1_5_15_min": _load_average(),
    }
    info["devices"] = device_info(core) if core is not None \
        else "unknown: no OpenVINO Core was given"
    return info
