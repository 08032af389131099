"""Camera logic without devices: clock mapping, back-off, config, messages, diagnostics."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_ros.camera_config import load_camera, load_cameras_file
from lad_ros.config import ConfigError
from lad_ros.drivers.camera_grabber import Backoff, GrabberStatus
from lad_ros.drivers.camera_source import ClockOffsetFilter, Intrinsics

PERIOD_NS = 33_333_333


@settings(max_examples=60, deadline=None)
@given(offset_ns=st.integers(-10**18, 10**18),
       delays_us=st.lists(st.integers(0, 30_000), min_size=30, max_size=200),
       fastest_us=st.integers(0, 2_000))
def test_offset_filter_stamps_capture_time_plus_at_most_the_fastest_delivery(
        offset_ns, delays_us, fastest_us):
    """Every 30th frame arrives fast; jittery late frames must not pull the stamps late."""
    mapper = ClockOffsetFilter(window_ns=10**10)
    for i, delay_us in enumerate(delays_us):
        capture_ns = 1_700_000_000_000_000_000 + i * PERIOD_NS
        delay_ns = (fastest_us if i % 30 == 0 else max(delay_us, fastest_us)) * 1000
        stamp = mapper.stamp(capture_ns - offset_ns, capture_ns + delay_ns)
        assert capture_ns + fastest_us * 1000 <= stamp <= capture_ns + delay_ns
        if i >= 30:  # a fast frame has been seen: the stamp is exact up to that fastest delay
            assert stamp == capture_ns + fastest_us * 1000


def test_offset_filter_restarts_after_a_device_clock_jump():
    mapper = ClockOffsetFilter(jump_ns=500_000_000)
    for i in range(10):
        mapper.stamp(i * PERIOD_NS, 5_000_000_000 + i * PERIOD_NS + 1_000_000)
    # The device reset its clock to zero: without a restart every stamp would be 5 s early.
    stamp = mapper.stamp(0, 9_000_000_000 + 2_000_000)
    assert stamp == 9_000_000_000 + 2_000_000
    assert mapper.offset_ns == 9_002_000_000


def test_offset_filter_forgets_samples_older_than_its_window():
    mapper = ClockOffsetFilter(window_ns=1_000_000_000)
    mapper.stamp(0, 1_000_000)                  # one very fast sample, offset 1 ms
    for i in range(1, 60):                      # then 2 s of 5 ms delays
        stamp = mapper.stamp(i * PERIOD_NS, i * PERIOD_NS + 5_000_000)
    assert stamp == 59 * PERIOD_NS + 5_000_000  # the 1 ms sample left the window


def test_backoff_doubles_to_its_limit_and_resets():
    backoff = Backoff(0.5, 3.0)
    assert [backoff.take() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.take() == 0.5


def test_intrinsics_from_fov_put_the_principal_point_at_the_centre():
    intrinsics = Intrinsics.from_fov(640, 480, 90.0)
    assert intrinsics.fx == pytest.approx(240.0) and intrinsics.fy == pytest.approx(240.0)
    assert (intrinsics.cx, intrinsics.cy) == (319.5, 239.5)


# --- config/cameras.yaml --------------------------------------------------------------------
def test_shipped_cameras_file_loads_with_realsense_ros_frame_ids():
    cameras = load_cameras_file()
    assert cameras, "config/cameras.yaml names no camera"
    for name, camera in cameras.items():
        assert camera.frame_id == f"{name}_color_optical_frame"
        assert camera.topic_prefix == f"/lad/cameras/{name}"
        assert camera.width > 0 and camera.height > 0 and camera.fps > 0


def _write(tmp_path, text):
    path = tmp_path / "cameras.yaml"
    path.write_text(text)
    return path


CAMERA = "cameras:\n  - name: front\n    source: realsense\n    width: 640\n    height: 480\n" \
         "    fps: 30\n"


@pytest.mark.parametrize("extra, field, expected", [
    ("    realsense: {serial: 123456789012}\n", "cameras[0].realsense.serial", "a string"),
    ("    depht: true\n", "cameras[0].depht", "one of the known fields"),
    ("    realsense: {stamp_mode: hw}\n", "cameras[0].realsense.stamp_mode", "one of"),
    ("    reconnect: {max_backoff_s: -1}\n", "cameras[0].reconnect.max_backoff_s", ">= 0.01"),
])
def test_camera_config_errors_name_file_and_field(tmp_path, extra, field, expected):
    path = _write(tmp_path, CAMERA + extra)
    with pytest.raises(ConfigError) as error:
        load_cameras_file(path)
    assert error.value.file == str(path)
    assert error.value.field == field
    assert expected in error.value.expected


@pytest.mark.parametrize("text, field", [
    (CAMERA.replace("front", "Front Cam"), "cameras[0].name"),
    (CAMERA.replace("fps: 30", "fps: 0"), "cameras[0].fps"),
    (CAMERA + CAMERA.replace("cameras:\n", ""), "cameras[1].name"),
    (CAMERA.replace("realsense", "opencv") + "    depth: true\n", "cameras[0].depth"),
    (CAMERA.replace("realsense", "sim"), "cameras[0].sim"),
])
def test_camera_config_rejects_bad_values(tmp_path, text, field):
    with pytest.raises(ConfigError) as error:
        load_cameras_file(_write(tmp_path, text))
    assert error.value.field == field


def test_unknown_camera_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="front"):
        load_camera("side", _write(tmp_path, CAMERA))


def test_playback_file_is_resolved_and_stamp_mode_kept(tmp_path):
    path = _write(tmp_path, CAMERA + "    realsense: {playback_file: rec.db3, stamp_mode: "
                                     "receive}\n")
    camera = load_camera("front", path)
    assert camera.playback_file.endswith("rec.db3") and camera.playback_file.startswith("/")
    assert camera.stamp_mode == "receive"


# --- messages and diagnostics ----------------------------------------------------------------
def test_image_messages_round_trip_rgb_and_depth():
    from lad_ros.nodes.camera_messages import image_message, image_pixels
    from lad_ros.nodes.ros_common import ns_from_stamp

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    depth = rng.integers(0, 65536, (48, 64), dtype=np.uint16)
    image = image_message(rgb, 1_700_000_000_123_456_789, "front_color_optical_frame")
    assert (image.encoding, image.step, image.height, image.width) == ("rgb8", 192, 48, 64)
    assert ns_from_stamp(image.header.stamp) == 1_700_000_000_123_456_789
    assert image.header.frame_id == "front_color_optical_frame"
    np.testing.assert_array_equal(image_pixels(image), rgb)
    depth_image = image_message(depth, 5, "f")
    assert (depth_image.encoding, depth_image.step) == ("16UC1", 128)
    np.testing.assert_array_equal(image_pixels(depth_image), depth)
    with pytest.raises(ValueError, match="float32"):
        image_message(np.zeros((4, 4), np.float32), 0, "f")


def test_camera_info_carries_intrinsics_as_k_d_r_p():
    from lad_ros.nodes.camera_messages import camera_info_message

    intrinsics = Intrinsics(640, 480, 610.0, 611.0, 320.5, 240.5, "plumb_bob",
                            (0.1, -0.2, 0.001, 0.002, 0.05))
    info = camera_info_message(intrinsics, 7, "front_color_optical_frame")
    assert (info.width, info.height, info.distortion_model) == (640, 480, "plumb_bob")
    assert list(info.k) == [610.0, 0.0, 320.5, 0.0, 611.0, 240.5, 0.0, 0.0, 1.0]
    assert list(info.d) == pytest.approx([0.1, -0.2, 0.001, 0.002, 0.05])
    assert list(info.p) == [610.0, 0.0, 320.5, 0.0, 0.0, 611.0, 240.5, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert list(info.r) == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def _status(state, frames=100, rate=30.0, error=""):
    return GrabberStatus(state, frames, 0, rate, error, None, None)


@pytest.mark.parametrize("status, level, words", [
    (_status("streaming"), "OK", "streaming"),
    (_status("streaming", rate=9.0), "WARN", "9.0 Hz of 30"),
    (_status("reconnecting", error="no RealSense with serial 1"), "ERROR", "serial 1"),
    (_status("connecting", frames=0, rate=0.0), "WARN", "connecting"),
    (_status("finished"), "OK", "playback finished"),
])
def test_diagnostic_level_follows_the_grabber_state(status, level, words):
    from lad_ros.nodes.camera_node import diagnostic_level
    got_level, message = diagnostic_level(status, 30)
    assert got_level == level and words in message


@pytest.mark.parametrize("domain, mode, playback, expected", [
    ("global_time", "auto", False, "device"),       # librealsense mapped it to the host clock
    ("system_time", "auto", False, "device"),       # host arrival time already
    ("hardware_clock", "auto", False, "filtered"),  # device clock: min-filtered offset
    ("global_time", "filtered", False, "filtered"),
    ("global_time", "receive", False, "receive"),
    ("hardware_clock", "receive", True, "device"),  # playback keeps what was recorded
])
def test_realsense_stamp_rules_by_domain_and_mode(domain, mode, playback, expected):
    from lad_ros.drivers.realsense_source import capture_stamp_ns
    device_ms, receive_ns = 123_456.789, 1_700_000_000_000_000_000
    mapper = ClockOffsetFilter()
    stamp = capture_stamp_ns(device_ms, domain, receive_ns, mode, playback, mapper)
    device_ns = round(device_ms * 1e6)
    assert stamp == {"device": device_ns, "receive": receive_ns,
                     "filtered": receive_ns}[expected]  # first filtered sample: zero delay
    assert (mapper.offset_ns is not None) == (expected == "filtered")


def test_each_source_kind_builds_its_driver(tmp_path):
    from lad_ros.camera_config import source_for
    from lad_ros.drivers.opencv_source import OpenCVSource
    from lad_ros.drivers.realsense_source import RealSenseSource
    from lad_ros.sim.sim_camera import SimSource

    scene = tmp_path / "scene.xml"
    scene.write_text('<mujoco><worldbody><camera name="top" pos="0 0 1"/>'
                     '<geom type="sphere" size="0.1"/></worldbody></mujoco>')
    path = _write(tmp_path, f"""cameras:
  - {{name: rs, source: realsense, width: 640, height: 480, fps: 30, depth: true,
      realsense: {{serial: "123456789012"}}}}
  - {{name: cam, source: opencv, width: 320, height: 240, fps: 15, opencv: {{device: 2}}}}
  - {{name: sim, source: sim, width: 64, height: 48, fps: 10, depth: true,
      sim: {{camera: top, mjcf: {scene}}}}}
""")
    cameras = load_cameras_file(path)
    realsense = source_for(cameras["rs"])
    assert isinstance(realsense, RealSenseSource)
    assert (realsense.serial, realsense.depth, realsense.fps) == ("123456789012", True, 30)
    opencv = source_for(cameras["cam"])
    assert isinstance(opencv, OpenCVSource) and opencv.device == 2
    sim = source_for(cameras["sim"])
    assert isinstance(sim, SimSource) and sim.camera == "top" and sim.depth
