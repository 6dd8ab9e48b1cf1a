"""Step generators for pooling, nearest up-sampling and transposed convolution."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from unetviz import ops, steps

POOL = steps.POOL_EXAMPLE  # 6x6
UP = steps.UPSAMPLE_EXAMPLE  # 3x3


def test_the_2x2_region_pools_to_its_maximum():
    (s,) = steps.pool_steps(np.array([[5, 2], [8, 3]]))
    assert (s.row, s.col, s.top, s.left, s.value) == (0, 0, 0, 0, 8.0)
    assert s.region.tolist() == [[5, 2], [8, 3]]


def test_worked_6x6_max_pool_step_by_step():
    ss = list(steps.pool_steps(POOL))
    assert [s.value for s in ss] == [5, 6, 2, 5, 6, 4, 3, 5, 3]
    assert [(s.top, s.left) for s in ss[:4]] == [(0, 0), (0, 2), (0, 4), (2, 0)]
    assert (ss[4].bottom, ss[4].right) == (3, 3)
    p = steps.pool_progress(POOL, 9)
    assert p.result.tolist() == [[5, 6, 2], [5, 6, 4], [3, 5, 3]]
    assert p.total == 9


def test_worked_6x6_average_pool_and_partial_output():
    p = steps.pool_progress(POOL, 2, mode="average")
    assert p.step.value == 4.25  # (6 + 2 + 6 + 3) / 4
    assert p.so_far[0, :2].tolist() == [2.5, 4.25]
    assert np.isnan(p.so_far[0, 2]) and np.isnan(p.so_far[1:]).all()
    assert p.result.tolist() == [[2.5, 4.25, 1.25], [2.5, 2.5, 3.0], [1.75, 4.0, 1.0]]


def test_pool_3x3_stride_3():
    p = steps.pool_progress(POOL, 4, size=3, stride=3)
    assert p.so_far.tolist() == [[6, 3], [6, 5]]


def test_pool_step_count_matches_the_generator():
    assert steps.pool_step_count(POOL) == 9
    assert steps.pool_step_count(POOL, size=3, stride=1) == 16
    assert len(list(steps.pool_steps(POOL, size=3, stride=1))) == 16
    with pytest.raises(ValueError, match="does not fit"):
        steps.pool_step_count(POOL, size=7)


def test_overlapping_pool_windows():
    ss = list(steps.pool_steps(np.arange(9).reshape(3, 3), size=2, stride=1))
    assert [s.value for s in ss] == [4, 5, 7, 8]


@pytest.mark.parametrize("kwargs, msg", [
    ({"size": 7}, "does not fit"), ({"mode": "median"}, "mode"), ({"stride": 0}, "at least 1")])
def test_pool_steps_refuse_bad_settings(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        list(steps.pool_steps(POOL, **kwargs))


def test_progress_refuses_a_step_out_of_range():
    with pytest.raises(ValueError, match="between 1 and 9"):
        steps.pool_progress(POOL, 10)


def test_worked_3x3_nearest_upsample_is_copying():
    ss = list(steps.upsample_steps(UP))
    assert len(ss) == 9
    assert (ss[4].row, ss[4].col, ss[4].top, ss[4].left, ss[4].value) == (1, 1, 2, 2, 5.0)
    assert (ss[4].bottom, ss[4].right) == (3, 3)
    p = steps.upsample_progress(UP, 9)
    assert p.so_far.tolist() == [[1, 1, 3, 3, 6, 6], [1, 1, 3, 3, 6, 6], [2, 2, 5, 5, 6, 6],
                                 [2, 2, 5, 5, 6, 6], [2, 2, 4, 4, 3, 3], [2, 2, 4, 4, 3, 3]]
    assert p.result.shape == (6, 6)
    half = steps.upsample_progress(UP, 2).so_far
    assert half[:2, :4].tolist() == [[1, 1, 3, 3], [1, 1, 3, 3]]
    assert np.isnan(half[2:]).all() and np.isnan(half[:, 4:]).all()


def test_transposed_conv_steps_scatter_pixel_times_filter():
    k = np.array([[1.0, 2.0], [3.0, 4.0]])
    ss = list(steps.conv_transpose_steps(UP, k, stride=2))
    assert (ss[1].top, ss[1].left, ss[1].value) == (0, 2, 3.0)
    assert ss[1].contribution.tolist() == [[3, 6], [9, 12]]
    assert (ss[1].bottom, ss[1].right) == (1, 3)


def test_transposed_conv_overlaps_add_up():
    # A 1x2 image and a 3x3 filter of ones at stride 2: column 2 is reached by both pixels.
    p = steps.conv_transpose_progress(np.array([[1.0, 10.0]]), np.ones((3, 3)), 2)
    assert p.so_far.tolist() == [[1, 1, 11, 10, 10]] * 3
    first = steps.conv_transpose_progress(np.array([[1.0, 10.0]]), np.ones((3, 3)), 1).so_far
    assert first[0, :3].tolist() == [1, 1, 1] and np.isnan(first[:, 3:]).all()


def test_transposed_conv_with_ones_matches_nearest():
    p = steps.conv_transpose_progress(UP, steps.TRANSPOSE_FILTERS["2x2 of ones (copies, like nearest)"], 9)
    assert np.array_equal(p.so_far, ops.upsample(UP, 2))
    assert steps.transpose_output_shape((3, 3), (3, 3), 2) == (7, 7)


finite = st.floats(-100, 100, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 9), st.integers(2, 9)), elements=finite),
       st.integers(1, 3), st.integers(1, 3), st.sampled_from(steps.POOL_MODES))
def test_pool_steps_add_up_to_ops(a, size, stride, mode):
    if size > min(a.shape):
        return
    p = steps.pool_progress(a, 1, size=size, stride=stride, mode=mode)
    full = steps.pool_progress(a, p.total, size=size, stride=stride, mode=mode).so_far
    direct = (ops.max_pool if mode == "max" else ops.avg_pool)(a, size, stride)
    np.testing.assert_allclose(full, direct)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=finite),
       arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=finite),
       st.integers(1, 3))
def test_transpose_and_upsample_steps_add_up_to_ops(a, k, stride):
    p = steps.conv_transpose_progress(a, k, a.size, stride=stride)
    direct = ops.conv_transpose2d(a, k, stride=stride)
    covered = np.isfinite(p.so_far)
    np.testing.assert_allclose(p.so_far[covered], direct[covered], atol=1e-9)
    assert np.allclose(direct[~covered], 0)  # gaps (stride > filter) get nothing
    np.testing.assert_array_equal(steps.upsample_progress(a, a.size, factor=stride).so_far,
                                  ops.upsample(a, stride))


def test_step_generators_refuse_bad_input():
    with pytest.raises(ValueError, match="one \\(H, W\\)"):
        list(steps.pool_steps(np.zeros((4, 4, 2))))
    with pytest.raises(ValueError, match="finite"):
        list(steps.upsample_steps(np.array([[np.nan]])))
    with pytest.raises(ValueError, match="filter"):
        list(steps.conv_transpose_steps(np.ones((2, 2)), np.ones(3)))


def test_inputs_are_not_mutated():
    a = POOL.copy()
    steps.pool_progress(a, 3)
    steps.upsample_progress(a, 3)
    steps.conv_transpose_progress(a, np.ones((2, 2)), 3)
    assert np.array_equal(a, POOL)


def test_heatmap_row_keeps_a_half_filled_output_full_size():
    from unetviz.figures import heatmap_row

    p = steps.pool_progress(POOL, 2)
    fig = heatmap_row([POOL, p.so_far], titles=["in", "out"], windows=[(0, 2, 2, 2), (0, 1, 1, 1)])
    assert list(fig.layout.xaxis2.range) == [-0.5, 2.5] and list(fig.layout.yaxis2.range) == [2.5, -0.5]
    assert fig.layout.xaxis.title.text == "in" and len(fig.layout.shapes) == 2
    assert fig.data[0].z.dtype == np.float32
    assert list(fig.data[1].text[0]) == ["5", "6", ""]  # numbers on the cells written so far


def test_pool_frames_chunk_many_windows_and_end_complete():
    a = np.arange(64.0).reshape(8, 8)
    frames = steps.pool_frames(a, size=2, stride=1, max_frames=10)  # 49 windows
    assert len(frames) == 10 and frames[-1].done == 49
    np.testing.assert_array_equal(frames[-1].max_so_far, ops.max_pool(a, 2, 1))
    np.testing.assert_array_equal(frames[-1].avg_so_far, ops.avg_pool(a, 2, 1))
    f = frames[0]
    assert f.done == 5 and (f.step.row, f.step.col) == (0, 4)
    assert np.isfinite(f.max_so_far).sum() == 5
