"""Files written whole or not at all."""

import os


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
