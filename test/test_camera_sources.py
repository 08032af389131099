"""Frame sources against their real peers: librealsense playback of a recording made here,
OpenCV on a video file that appears late, MuJoCo rendering a scene written here."""
import threading
import time

import numpy as np
import pytest

from lad_ros.drivers.camera_grabber import Backoff, Grabber
from lad_ros.drivers.camera_source import Frame, Intrinsics, SourceError

WIDTH, HEIGHT, FPS = 160, 120, 30
INTRINSICS = Intrinsics(WIDTH, HEIGHT, 140.0, 141.0, 79.5, 60.25, "plumb_bob",
                        (0.12, -0.25, 0.001, -0.002, 0.1))


def synthetic_frame(index: int, stamp_ns: int) -> Frame:
    """A gradient that moves with the index; depth a smooth ramp (alignment keeps it intact)."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([(xs + index) % 256, (ys * 2) % 256, np.full_like(xs, index % 256)],
                   axis=-1).astype(np.uint8)
    depth = (800 + 10 * index + xs // 8).astype(np.uint16)
    return Frame(stamp_ns, rgb, INTRINSICS, depth=depth)


def write_recording(path, count: int, depth: bool) -> list[Frame]:
    """Frames written at FPS in real time: the recorder keeps the pace playback will have."""
    from lad_ros.drivers.realsense_recording import RealSenseRecordingWriter
    frames = []
    start_ns = time.time_ns()
    with RealSenseRecordingWriter(str(path), INTRINSICS, FPS, depth=depth) as writer:
        for index in range(count):
            frame = synthetic_frame(index, start_ns + index * 33_333_333 + 777)
            if not depth:
                frame.depth = None
            writer.write(frame)
            frames.append(frame)
            time.sleep(1.0 / FPS)
    return frames


def test_realsense_playback_returns_the_recorded_frames_stamps_and_intrinsics(tmp_path):
    from lad_ros.drivers.realsense_recording import recorded_stamp_ns
    from lad_ros.drivers.realsense_source import RealSenseSource

    recorded = write_recording(tmp_path / "rec.db3", 15, depth=True)
    source = RealSenseSource(WIDTH, HEIGHT, FPS, depth=True,
                             playback_file=str(tmp_path / "rec.db3"))
    source.open()
    played = []
    try:
        while not source.finished:
            frame = source.read(timeout_s=2.0)
            assert frame is not None or source.finished, "playback stalled"
            if frame is not None:
                played.append(frame)
    finally:
        source.close()

    assert [f.sequence for f in played] == list(range(15))
    assert source.describe()["name"] == "lad_ros software camera"
    for frame in played:
        original = recorded[frame.sequence]
        assert frame.stamp_ns == recorded_stamp_ns(original.stamp_ns)
        np.testing.assert_array_equal(frame.rgb, original.rgb)
        assert frame.intrinsics.model == "plumb_bob"
        assert (frame.intrinsics.fx, frame.intrinsics.cx, frame.intrinsics.cy) == (
            140.0, 79.5, 60.25)
        assert frame.intrinsics.coeffs == pytest.approx(INTRINSICS.coeffs, abs=1e-6)
        assert frame.depth_units_m == pytest.approx(0.001)
    # The first frame of a playback reaches the syncer alone (docs/cameras.md); all others
    # carry their aligned depth. rs.align reprojects through the distortion model, leaving
    # holes (0, "no depth") where pixels do not map one to one; elsewhere the values are kept.
    with_depth = [f for f in played if f.depth is not None]
    assert [f.sequence for f in with_depth] == list(range(1, 15))
    for frame in with_depth:
        valid = frame.depth > 0
        assert valid.mean() > 0.85
        # Sub-pixel reprojection may take the neighbour's value: the ramp changes 1 mm at most.
        np.testing.assert_allclose(frame.depth[valid], recorded[frame.sequence].depth[valid],
                                   atol=1)


def test_realsense_with_an_absent_serial_fails_naming_it():
    from lad_ros.drivers.realsense_source import RealSenseSource
    source = RealSenseSource(640, 480, 30, serial="999999999999")
    with pytest.raises(SourceError, match="999999999999"):
        source.open()
    source.close()


def test_grabber_reconnects_with_backoff_until_the_video_appears(tmp_path):
    import cv2

    from lad_ros.drivers.opencv_source import OpenCVSource

    video = tmp_path / "late.avi"
    source = OpenCVSource(str(video), WIDTH, HEIGHT, fps=60)
    frames = []
    grabber = Grabber(source, frames.append, stall_timeout_s=1.0, backoff=Backoff(0.05, 0.2),
                      name="late")
    grabber.start()
    try:
        assert grabber.wait_until(("reconnecting",), 5.0)
        assert "no such file" in grabber.status().last_error
        staging = tmp_path / "staging.avi"
        writer = cv2.VideoWriter(str(staging), cv2.VideoWriter_fourcc(*"MJPG"), 60,
                                 (WIDTH, HEIGHT))
        for index in range(12):
            writer.write(cv2.cvtColor(synthetic_frame(index, 0).rgb, cv2.COLOR_RGB2BGR))
        writer.release()
        staging.rename(video)  # appears complete, as a device node would
        assert grabber.wait_until(("finished",), 10.0)
    finally:
        grabber.stop()
    status = grabber.status()
    assert status.reconnects >= 1 and status.frames == 12 == len(frames)
    assert all(f.rgb.shape == (HEIGHT, WIDTH, 3) and f.rgb.dtype == np.uint8 for f in frames)
    # MJPEG is lossy: the blue channel encodes the frame index, compare it loosely.
    np.testing.assert_allclose([float(f.rgb[60, 80, 2]) for f in frames], range(12), atol=4)
    stamps = [f.stamp_ns for f in frames]
    assert stamps == sorted(stamps)


SCENE = """
<mujoco>
  <worldbody>
    <light pos="0 0 3" dir="0 0 -1"/>
    <camera name="front" pos="0 0 1" xyaxes="1 0 0 0 1 0" fovy="60"/>
    <geom name="floor" type="plane" size="2 2 0.1" pos="0 0 0" rgba="0.2 0.2 0.2 1"/>
    <body name="ball" pos="0.15 0.1 0.2">
      <geom type="sphere" size="0.03" rgba="1 0 0 1"/>
    </body>
  </worldbody>
</mujoco>
"""


def test_sim_camera_renders_where_its_intrinsics_project_with_metric_depth(tmp_path):
    import mujoco

    from lad_ros.sim.sim_camera import SimSource

    model = mujoco.MjModel.from_xml_string(SCENE)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    lock = threading.Lock()
    source = SimSource(model, data, "front", 320, 240, fps=20, depth=True, lock=lock,
                       clock_ns=lambda: int(data.time * 1e9) + 1_000)
    frames = []
    grabber = Grabber(source, frames.append, name="sim")  # renders on the grabber's thread
    grabber.start()
    try:
        deadline = time.monotonic() + 30.0
        while len(frames) < 3 and time.monotonic() < deadline:
            with lock:  # the sim cell steps under the same lock
                mujoco.mj_step(model, data)
            time.sleep(0.01)
    finally:
        grabber.stop()
    assert len(frames) >= 3, grabber.status()
    frame = frames[-1]
    assert frame.rgb.shape == (240, 320, 3) and frame.depth.dtype == np.uint16
    assert [f.stamp_ns for f in frames] == sorted(f.stamp_ns for f in frames)

    # The camera looks down -z from 1 m; the ball centre is 0.8 m in front of it. In the
    # optical frame (x right, y down) it is at (0.15, -0.1, 0.8).
    k = frame.intrinsics
    u = k.cx + k.fx * 0.15 / 0.8
    v = k.cy + k.fy * -0.1 / 0.8
    red = (frame.rgb[..., 0] > 150) & (frame.rgb[..., 1] < 80)
    rows, cols = np.nonzero(red)
    assert len(rows) > 20
    assert cols.mean() == pytest.approx(u, abs=1.0) and rows.mean() == pytest.approx(v, abs=1.5)
    # Depth: the sphere's near surface (0.77 m) at its centre, the floor (1 m) elsewhere.
    assert abs(int(frame.depth[int(round(v)), int(round(u))]) - 770) <= 3
    assert abs(int(frame.depth[5, 5]) - 1000) <= 3


def test_sim_camera_rejects_an_unknown_camera_and_a_size_it_cannot_render():
    import mujoco

    from lad_ros.sim.sim_camera import SimSource

    model = mujoco.MjModel.from_xml_string(SCENE)
    with pytest.raises(ValueError, match="front"):
        SimSource(model, mujoco.MjData(model), "side", 64, 48, 10)
    with pytest.raises(ValueError, match="offwidth"):
        SimSource(model, mujoco.MjData(model), "front", 1280, 720, 10)
