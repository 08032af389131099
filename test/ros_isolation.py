"""Pick a ROS_DOMAIN_ID no other live test process on this machine holds.

A lock file per domain id is held (flock) for the life of the process, so two pytest runs
started at the same moment still get different domains, and a crashed run frees its lock.
"""
import fcntl
import os
import tempfile

# Domain ids whose DDS ports are valid on Linux: 0..101 (215..232 too, unused here).
_CANDIDATES = range(1, 102)
_held = []


def claim_ros_domain(lock_dir: str | None = None) -> int:
    lock_dir = lock_dir or os.path.join(tempfile.gettempdir(), "lad_ros_ros_domains")
    os.makedirs(lock_dir, exist_ok=True)
    start = os.getpid() % len(_CANDIDATES)
    for offset in range(len(_CANDIDATES)):
        domain = _CANDIDATES[(start + offset) % len(_CANDIDATES)]
        handle = open(os.path.join(lock_dir, f"{domain}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held.append(handle)
        return domain
    raise RuntimeError(f"no free ROS_DOMAIN_ID: all of {len(_CANDIDATES)} are locked")
