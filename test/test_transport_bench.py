"""`lad bench transport`: its arithmetic, its DDS profile rule, and a short real run."""
import os
import re
import subprocess
import sys

import pytest

from lad_ros.image_transport import large_image_profile, use_large_image_profile
from lad_ros.transport_bench import Variant, summarize

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_summary_counts_drops_by_sequence_and_rate_by_arrival():
    publisher = {"published": 10, "build_ms": 1.0, "publish_hz": 30.0}
    subscriber = {"sequences": [0, 1, 2, 4, 5, 6, 7, 8],       # 3 and 9 never arrived
                  "arrival_s": [i / 30.0 for i in range(8)],
                  "latency_ms": [4.0, 6.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]}
    result = summarize(Variant("construct", False, 1.0), publisher, subscriber)
    assert (result.received, result.drops) == (8, 2)
    assert result.hz == pytest.approx(30.0)
    assert result.ms_per_msg == pytest.approx(5.0)


def test_large_image_profile_is_used_only_where_nobody_chose_otherwise():
    environ = {}
    assert use_large_image_profile(environ) == large_image_profile()
    assert environ["FASTDDS_DEFAULT_PROFILES_FILE"].endswith("fastdds_large_images.xml")
    assert os.path.isfile(environ["FASTDDS_DEFAULT_PROFILES_FILE"])
    mine = {"FASTRTPS_DEFAULT_PROFILES_FILE": "/etc/my_profile.xml"}
    assert use_large_image_profile(mine) is None and "FASTDDS_DEFAULT_PROFILES_FILE" not in mine
    cyclone = {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}
    assert use_large_image_profile(cyclone) is None and len(cyclone) == 1


@pytest.mark.integration
def test_transport_bench_runs_two_processes_and_ends_with_its_summary_line():
    completed = subprocess.run(
        [sys.executable, "-m", "lad_ros.cli", "bench", "transport", "--seconds", "2",
         "--compare-seconds", "0"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    assert "| construct (checks off) | 60 |" in completed.stdout
    match = re.fullmatch(r"transport hz=([\d.]+) drops=(\d+) ms_per_msg=([\d.]+)", lines[-1])
    assert match, lines[-1]
    hz, drops, ms_per_msg = float(match[1]), int(match[2]), float(match[3])
    received = int(re.search(r"\| construct \(checks off\) \| 60 \| (\d+) \|",
                             completed.stdout)[1])
    assert received + drops == 60 and received > 1
    assert hz > 0 and ms_per_msg > 0
