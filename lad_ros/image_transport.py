"""DDS settings for processes that publish camera images (no rclpy: call before rclpy.init).

With Fast DDS (the default RMW), an image larger than the shared-memory segment (512 KiB by
default) is sent as UDP fragments, and best-effort images are then mostly lost. Publishing
processes load config/fastdds_large_images.xml, whose segment holds several frames.
"""
from __future__ import annotations

import os

from lad_ros.embodiment import share_dir

PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def large_image_profile() -> str:
    return str(share_dir() / "config" / "fastdds_large_images.xml")


def use_large_image_profile(environ=os.environ) -> str | None:
    """Point Fast DDS at the large-image profile unless the user chose a profile or another RMW.

    Returns the profile now in use by this rule, or None when it left the environment alone.
    """
    if environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp") != "rmw_fastrtps_cpp":
        return None
    if any(environ.get(name) for name in PROFILE_VARIABLES):
        return None
    environ["FASTDDS_DEFAULT_PROFILES_FILE"] = large_image_profile()
    return environ["FASTDDS_DEFAULT_PROFILES_FILE"]
