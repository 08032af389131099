"""Chunk following: sample at now, interpolate, drop the past, hold when out or stale."""
import numpy as np
import pytest

from lad_ros.timed_trajectory import FollowState, TimedPoints, TrajectoryFollower

MS = 1_000_000


def _chunk(start_ns=1000 * MS, n=5, dt_ms=100):
    times = start_ns + np.arange(n) * dt_ms * MS
    points = np.stack([np.arange(n, dtype=float), 10 * np.arange(n, dtype=float)], axis=1)
    return TimedPoints(times, points)


def test_interpolates_between_points_and_never_extrapolates():
    chunk = _chunk()
    assert chunk.sample(1050 * MS) == pytest.approx([0.5, 5.0])
    assert chunk.sample(1200 * MS) == pytest.approx([2.0, 20.0])
    assert chunk.sample(999 * MS) is None and chunk.sample(1401 * MS) is None


def test_follower_states():
    follower = TrajectoryFollower(stale_after_ns=None)
    assert follower.target(0) == (None, FollowState.IDLE)
    assert follower.set(_chunk(), received_ns=900 * MS)
    assert follower.target(950 * MS)[1] is FollowState.WAITING
    point, state = follower.target(1300 * MS)
    assert state is FollowState.TRACKING and point == pytest.approx([3.0, 30.0])
    assert follower.target(1500 * MS)[1] is FollowState.FINISHED


def test_chunk_entirely_in_the_past_is_rejected_and_current_kept():
    follower = TrajectoryFollower()
    follower.set(_chunk(start_ns=2000 * MS), received_ns=1900 * MS)
    assert not follower.set(_chunk(start_ns=0), received_ns=2000 * MS)
    assert follower.rejected_past == 1
    assert follower.target(2100 * MS)[1] is FollowState.TRACKING


def test_newest_chunk_wins_and_watchdog_goes_stale():
    follower = TrajectoryFollower(stale_after_ns=250 * MS)
    follower.set(_chunk(start_ns=1000 * MS), received_ns=1000 * MS)
    follower.set(TimedPoints(np.array([1000, 1400]) * MS, np.array([[7.0, 7.0], [7.0, 7.0]])),
                 received_ns=1100 * MS)
    assert follower.target(1200 * MS)[0] == pytest.approx([7.0, 7.0])
    assert follower.target(1351 * MS)[1] is FollowState.STALE


def test_quaternion_columns_are_slerped():
    half = np.sqrt(0.5)
    chunk = TimedPoints(np.array([0, 100]), np.array([[0, 0, 0, 0, 0, 0, 1.0],
                                                     [1, 0, 0, 0, 0, half, half]]),
                        quaternion_at=3)
    mid = chunk.sample(50)
    assert mid[0] == pytest.approx(0.5)
    assert np.linalg.norm(mid[3:]) == pytest.approx(1.0)
    assert mid[3:] == pytest.approx([0, 0, np.sin(np.pi / 8), np.cos(np.pi / 8)])


@pytest.mark.parametrize("times,points", [([0, 0], [[0.0], [1.0]]), ([0, 1], [[0.0], [np.nan]]),
                                          ([0, 1], [[0.0]])])
def test_bad_chunks_raise(times, points):
    with pytest.raises(ValueError):
        TimedPoints(np.array(times), np.array(points))
