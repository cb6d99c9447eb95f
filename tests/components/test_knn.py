import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError
from sue_framework.components.knn import InnerProductIndex, exact_knn


def brute(q, r, k, metric):
    if metric == "cosine":
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        rn = r / np.linalg.norm(r, axis=1, keepdims=True)
        d = 1 - qn @ rn.T
    else:
        d = np.linalg.norm(q[:, None] - r[None], axis=2)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, idx, 1), idx


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_matches_brute_force_across_chunks(metric):
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(57, 6)), rng.normal(size=(91, 6))
    d, i = exact_knn(q, r, 7, metric=metric, chunk_size=10)
    bd, bi = brute(q, r, 7, metric)
    assert np.array_equal(i, bi)
    assert np.allclose(d, bd, atol=1e-5)


def test_exclude_self_drops_own_row_only():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 5))
    x[1] = x[0]  # a duplicate stays a neighbour at distance 0
    d, i = exact_knn(x, x, 4, metric="euclidean", exclude_self=True)
    assert not np.any(i == np.arange(40)[:, None])
    assert i[0, 0] == 1 and i[1, 0] == 0 and d[0, 0] == pytest.approx(0, abs=1e-3)


def test_errors():
    x = np.ones((5, 2))
    with pytest.raises(InputError, match="all-zero"):
        exact_knn(np.zeros((2, 2)), x, 1)
    with pytest.raises(InputError, match="only 4 candidates"):
        exact_knn(x, x, 5, exclude_self=True)
    with pytest.raises(InputError, match="metric"):
        exact_knn(x, x, 1, metric="manhattan")


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 5),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_neighbour_sets_invariant_to_reference_order(seed, k, dtype):
    rng = np.random.default_rng(seed)
    q, r = rng.normal(size=(8, 4)).astype(dtype), rng.normal(size=(30, 4)).astype(dtype)
    perm = rng.permutation(30)
    _, i1 = exact_knn(q, r, k, metric="euclidean")
    _, i2 = exact_knn(q, r[perm], k, metric="euclidean")
    assert [set(a) for a in i1] == [set(perm[b]) for b in i2]


def _recall(approx, exact):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(approx, exact, strict=True)])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_half_precision_candidates_rerank_to_exact(metric):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    d0, i0 = exact_knn(x, x, 8, metric=metric, exclude_self=True)
    d1, i1 = exact_knn(x, x, 8, metric=metric, exclude_self=True, half=True)
    assert _recall(i1, i0) > 0.98 and np.allclose(np.sort(d1, 1), np.sort(d0, 1), atol=1e-3)


def test_half_precision_euclidean_survives_large_norms():
    # squared norms of 1e8 overflow float16; the engine rescales before the half GEMM
    x = (np.random.default_rng(4).normal(size=(200, 8)) * 1e4).astype(np.float32)
    d0, i0 = exact_knn(x, x, 5, metric="euclidean", exclude_self=True)
    d1, i1 = exact_knn(x, x, 5, metric="euclidean", exclude_self=True, half=True)
    assert np.all(np.isfinite(d1)) and _recall(i1, i0) > 0.98
    assert np.allclose(np.sort(d1, 1), np.sort(d0, 1), rtol=1e-3)


@given(st.integers(1, 40), st.integers(1, 30), st.integers(1, 8), st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_both_ways_top_k_equals_brute_force_in_any_block_size(na, nb, k, seed):
    import torch

    import sue_framework.components.knn as knn

    rng = np.random.default_rng(seed)
    a = torch.from_numpy(rng.normal(size=(na, 5)).astype(np.float32))
    b = torch.from_numpy(rng.normal(size=(nb, 5)).astype(np.float32))
    s = (a @ b.T).numpy()
    want_a = np.argsort(-s, axis=1, kind="stable")[:, : min(k, nb)]
    want_b = np.argsort(-s.T, axis=1, kind="stable")[:, : min(k, na)]
    for block in (1, 3, None):
        chunk = knn.topk.auto_chunk if block is None else (lambda n, device=None, b=block: b)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(knn.topk, "auto_chunk", chunk)  # the block size of the search
            (fv, fi), (bv, bi) = knn.top_k_both_ways(a, b, k)
        # ties of continuous random data do not occur: the order is the brute force's
        assert np.array_equal(fi.numpy(), want_a) and np.array_equal(bi.numpy(), want_b)
        np.testing.assert_allclose(
            fv.numpy(), np.take_along_axis(s, want_a, 1), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            bv.numpy(), np.take_along_axis(s.T, want_b, 1), rtol=1e-5, atol=1e-5
        )


def _stable_top_k(s, k):
    """The first k of each row of a stable descending sort (ties: lowest index first)."""
    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, idx, 1), idx


@given(
    st.integers(1, 400),
    st.integers(1, 30),
    st.integers(1, 20),
    st.integers(2, 1000),
    st.integers(0, 10_000),
)
@settings(max_examples=60, deadline=None)
def test_top_k_of_rows_and_columns_is_the_stable_sort_s_first_k(rows, cols, k, levels, seed):
    import torch

    from sue_framework.components.knn import top_k_down_columns, top_k_rows

    # few levels: exact ties everywhere, at the k-th place too; many: nearly none
    s = np.random.default_rng(seed).integers(0, levels, size=(rows, cols)).astype(np.float32)
    values, idx = top_k_down_columns(torch.from_numpy(s), min(k, rows))
    want_v, want_i = _stable_top_k(s.T, min(k, rows))
    assert np.array_equal(idx.numpy(), want_i) and np.array_equal(values.numpy(), want_v)
    values, idx = top_k_rows(torch.from_numpy(s), min(k, cols))
    want_v, want_i = _stable_top_k(s, min(k, cols))
    assert np.array_equal(idx.numpy(), want_i) and np.array_equal(values.numpy(), want_v)


@given(st.integers(1, 25), st.integers(1, 40), st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_rows_of_duplicated_scores_give_the_stable_sort_s_first_k(k, copies, seed):
    """Long rows where blocks of equal scores straddle the k-th place (as duplicated embeddings
    give): the first k are those of a stable sort, however wide the tied block."""
    import torch

    from sue_framework.components.knn import top_k_down_columns, top_k_rows

    rng = np.random.default_rng(seed)
    distinct = rng.normal(size=(30, 600 // copies + 1)).astype(np.float32)
    s = np.repeat(distinct, copies, axis=1)[:, :600]
    s = s[:, rng.permutation(s.shape[1])]  # each value `copies` times, anywhere in the row
    values, idx = top_k_rows(torch.from_numpy(s), k)
    want_v, want_i = _stable_top_k(s, k)
    assert np.array_equal(idx.numpy(), want_i) and np.array_equal(values.numpy(), want_v)
    values, idx = top_k_down_columns(torch.from_numpy(np.ascontiguousarray(s.T)), k)
    assert np.array_equal(idx.numpy(), want_i) and np.array_equal(values.numpy(), want_v)


def test_both_ways_lists_are_the_stable_sort_s_first_k_in_any_block_size():
    import torch

    import sue_framework.components.knn as knn

    rng = np.random.default_rng(3)
    a = torch.from_numpy(rng.integers(-1, 2, size=(900, 3)).astype(np.float32))
    b = torch.from_numpy(rng.integers(-1, 2, size=(700, 3)).astype(np.float32))
    s = (a @ b.T).numpy()
    # blocks of 250 rows (ties between blocks too; the last block shorter), with the score
    # blocks in fresh memory, in one buffer reused, or in fresh memory past a buffer too small
    buffers = {"none": lambda: None, "reused": lambda: knn.score_buffer(a, b),
               "too small": lambda: torch.empty(100)}  # fmt: skip
    for block, buffered in itertools.product((250, None), buffers):
        chunk = knn.topk.auto_chunk if block is None else (lambda n, device=None, b=block: b)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(knn.topk, "auto_chunk", chunk)  # the block size of the search
            both = knn.top_k_both_ways(a, b, 12, buffers[buffered]())
        for (values, idx), scores in zip(both, (s, s.T), strict=True):
            want_v, want_i = _stable_top_k(scores, 12)
            assert np.array_equal(idx.numpy(), want_i) and np.array_equal(values.numpy(), want_v)


def test_an_exact_index_answers_rotated_queries_like_a_brute_force_scan():
    rng = np.random.default_rng(2)
    refs = rng.normal(size=(300, 8)).astype(np.float32)
    index = InnerProductIndex(refs, "auto")
    assert index.engine == "exact" and index.exact
    for _ in range(2):
        q = rng.normal(size=(25, 8)).astype(np.float32)
        vals, idx = index.search(q, 6)
        want = np.argsort(-(q @ refs.T), axis=1, kind="stable")[:, :6]
        assert np.array_equal(idx.numpy(), want)
    with pytest.raises(InputError, match="index engine must be"):
        InnerProductIndex(refs, "annoy")
    with pytest.raises(InputError, match="zero reference rows"):
        InnerProductIndex(refs[:0], "exact")


def _partial_lists(s: np.ndarray, k: int, keep: float, rng: np.random.Generator):
    """Each row's top k among a random share `keep` of the columns (an approximate search that
    misses entries at random), as (scores, indices) padded with -inf and index 0."""
    import torch

    values = np.full((s.shape[0], k), -np.inf, dtype=np.float32)
    idx = np.zeros((s.shape[0], k), dtype=np.int64)
    for i, row in enumerate(s):
        seen = np.flatnonzero(rng.uniform(size=row.size) < keep)
        best = seen[np.argsort(-row[seen], kind="stable")][:k]
        values[i, : best.size], idx[i, : best.size] = row[best], best
    return torch.from_numpy(values), torch.from_numpy(idx)


@given(
    st.integers(1, 30),
    st.integers(1, 30),
    st.integers(1, 6),
    st.floats(0.0, 1.0),
    st.integers(0, 10_000),
)
@settings(max_examples=60, deadline=None)
def test_lists_completed_by_the_other_direction_hold_the_best_of_every_hit(na, nb, k, keep, seed):
    """Each completed list is the k best (scores descending, no index twice) of what either
    search found for that row, with the true scores: a brute-force union is the reference."""
    import torch

    from sue_framework.components.knn import with_reverse_hits

    rng = np.random.default_rng(seed)
    a = torch.from_numpy(rng.normal(size=(na, 4)).astype(np.float32))
    b = torch.from_numpy(rng.normal(size=(nb, 4)).astype(np.float32))
    s = (a @ b.T).numpy()
    fwd = _partial_lists(s, min(k, nb), keep, rng)
    bwd = _partial_lists(s.T, min(k, na), keep, rng)
    done = with_reverse_hits(fwd, bwd)
    for (values, idx), own, other, scores in ((done[0], fwd, bwd, s), (done[1], bwd, fwd, s.T)):
        for i in range(scores.shape[0]):
            hits = {int(j) for j, v in zip(*(t[i].numpy() for t in own[::-1]), strict=True)
                    if v > -np.inf}  # fmt: skip
            hits |= {j for j in range(other[1].shape[0])
                     if i in other[1][j][other[0][j] > -np.inf].tolist()}  # fmt: skip
            best = sorted(hits, key=lambda j: (-scores[i, j], j))[: values.shape[1]]
            got = idx[i][values[i] > -np.inf].tolist()
            assert got == best
            np.testing.assert_array_equal(values[i][: len(best)].numpy(), scores[i, best])


def test_faiss_searches_run_on_the_threads_the_fit_policy_gives_torch():
    """faiss's OpenMP threads follow torch's in the calling thread, so a fit held to one thread
    (or a CV worker given one) does not search on every core."""
    faiss = pytest.importorskip("faiss")
    from sue_framework.runtime.threads import torch_threads

    refs = np.random.default_rng(0).normal(size=(800, 8)).astype(np.float32)
    index = InnerProductIndex(refs, "faiss-ivf")
    with torch_threads(1):
        index.search(refs[:10], 3)
        assert faiss.omp_get_max_threads() == 1
    with torch_threads(2):
        index.search(refs[:10], 3)
        assert faiss.omp_get_max_threads() == 2
