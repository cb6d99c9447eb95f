"""Top-k lists with ties broken by index, both ways between two sets of rows: the candidate
search that self-learning runs at every iteration."""

from __future__ import annotations

import torch

from sue_framework.runtime.engine import auto_chunk, row_chunks


def _first_k_sorted(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first k of each row of `s` sorted descending, ties by ascending index (a stable
    sort): what the faster paths below fall back to where ties make them unsure.

    A row's top `width` entries hold every entry tied with its k-th largest once the last of
    them is smaller than the k-th: those candidates, ordered by score and then index, start
    as the whole row would. `width` starts at 2k and doubles for the rows still unsure; a
    full sort only where it reaches the row's length (or NaN leaves the order unsure). Rows
    of duplicated embeddings tie by the hundred, and a sort of each whole row was over a third
    of a self-learning fit on the dictionary words (benchmarks/studies/candidate_search.py)."""
    n = s.shape[1]
    out_v = torch.empty(s.shape[0], k, dtype=s.dtype, device=s.device)
    out_i = torch.empty(s.shape[0], k, dtype=torch.long, device=s.device)
    rows = torch.arange(s.shape[0], device=s.device)
    width = 2 * k
    while rows.numel():
        if width >= n:
            values, idx = torch.sort(s[rows], dim=1, descending=True, stable=True)
            out_v[rows], out_i[rows] = values[:, :k], idx[:, :k]
            break
        values, idx = torch.topk(s[rows], width, dim=1)
        done = values[:, width - 1] < values[:, k - 1]
        if done.any():
            values, idx = _ties_by_index(values[done], idx[done])
            out_v[rows[done]], out_i[rows[done]] = values[:, :k], idx[:, :k]
        rows, width = rows[~done], 2 * width
    return out_v, out_i


def top_k_rows(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest entries of every row of `s` ((rows, k) values descending, column
    indices), exactly the first k of a stable descending sort: equal values in ascending
    column order, and of entries tied at the k-th place the lowest columns. torch.topk
    leaves both to its algorithm; a self-learning loop fed the same candidates in another
    order or set drifts apart, so this fixes them.

    Parameters
    ----------
    s : Tensor
        A (rows, columns) block of scores.
    k : int
        Entries kept per row (at most the number of columns).
    """
    if k >= s.shape[1]:
        return _first_k_sorted(s, k)
    values, idx = torch.topk(s, k + 1, dim=1)
    unsure = torch.nonzero(values[:, k - 1] == values[:, k]).ravel()  # a tie at the k-th place
    values, idx = values[:, :k], idx[:, :k]
    if unsure.numel():
        values[unsure], idx[unsure] = _first_k_sorted(s[unsure], k)
    return _ties_by_index(values, idx)


def top_k_down_columns(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest entries of every column of `s` as ((columns, k) values descending, their
    row indices): `top_k_rows` of the transposed block, and equal to it.

    On CPU the rows are cut into groups of c (row j belongs to group j mod (r // c)); only the
    k groups whose column maximum is largest can hold a column's top k (any other entry is
    beaten by those k maxima, or ties the k-th group maximum: such columns are taken whole),
    so the top k is taken among k c entries instead of r. One reduction over contiguous rows
    replaces the transposed copy a row-wise top-k needs (benchmarks/studies/topk_columns.py measures
    the gain). On a GPU, and where groups would not pay (fewer than about 12 k rows),
    `top_k_rows` of the transposed block.

    Parameters
    ----------
    s : Tensor
        A (rows, columns) block of scores.
    k : int
        Entries kept per column (at most the number of rows).
    """
    r, n = s.shape
    c = int(round((r / max(k, 1)) ** 0.5))
    if s.device.type != "cpu" or c < 4:
        return top_k_rows(s.T.contiguous(), k)
    g = r // c  # groups, c rows each; the r - g c rows left over are candidates always
    group_max = s[: g * c].view(c, g, n).amax(0).T  # group j: rows j, j + g, j + 2g, ...
    kth_max, top_groups = torch.topk(group_max, k, dim=1, sorted=False)
    kth_max = kth_max.amin(1)
    rows = (top_groups.unsqueeze(2) + g * torch.arange(c, device=s.device)).reshape(n, k * c)
    if g * c < r:
        rest = torch.arange(g * c, r, device=s.device)
        rows = torch.cat([rows, rest.expand(n, r - g * c)], 1)
    values, j = torch.topk(torch.gather(s, 0, rows.T).T, k + 1, dim=1)
    # unsure: a tie at the k-th place among the candidates, or with a group left out
    unsure = torch.nonzero(
        (values[:, k - 1] == values[:, k])
        | ((values[:, k - 1] == kth_max) & ((group_max >= kth_max[:, None]).sum(1) > k))
    ).ravel()
    values, idx = values[:, :k], torch.gather(rows, 1, j[:, :k])
    if unsure.numel():
        values[unsure], idx[unsure] = _first_k_sorted(s[:, unsure].T, k)
    return _ties_by_index(values, idx)


def score_buffer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Room for the largest block of scores `top_k_both_ways(a, b, ...)` computes, to hand it
    again and again: a search repeated with the same row counts (self-learning's, once per
    iteration) then writes each block into memory it already holds. A fresh block past glibc's
    largest heap threshold (32 MB) comes as new pages, faulted in on the product's first
    write (benchmarks/studies/candidate_search.py --compare buffer measures what the buffer saves).

    Parameters
    ----------
    a, b : Tensor
        The rows `top_k_both_ways` will be given (their counts, dtype and a's device).
    """
    rows = min(a.shape[0], auto_chunk(b.shape[0], device=a.device))
    return torch.empty(rows * b.shape[0], dtype=torch.result_type(a, b), device=a.device)


def _holds(buffer: torch.Tensor, need: int, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether `buffer` can take `need` scores of a @ b^T: enough of them, a's device, their
    dtype."""
    return (
        buffer.numel() >= need
        and buffer.device == a.device
        and buffer.dtype == torch.result_type(a, b)
    )


def top_k_both_ways(
    a: torch.Tensor, b: torch.Tensor, k: int, buffer: torch.Tensor | None = None
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Exact top-k inner products of every row of `a` among the rows of `b` and of every row of
    `b` among the rows of `a`, from one pass of blocked products a_block @ b^T: each block
    gives its rows' top-k and updates a running top-k per column. ((values, indices) for a,
    then for b) as `top_k_rows` defines them (the first k of a stable descending sort, so
    tied scores in index order), on a's device.

    Parameters
    ----------
    a, b : Tensor
        Rows of each side (inner products are the scores).
    k : int
        Candidates per row, both ways.
    buffer : Tensor, optional
        `score_buffer(a, b)`, reused for the blocks of scores (the same numbers either way;
        a block it cannot hold gets fresh memory).
    """
    ka, kb = int(min(k, b.shape[0])), int(min(k, a.shape[0]))
    fv = torch.empty(a.shape[0], ka, device=a.device)
    fi = torch.empty(a.shape[0], ka, dtype=torch.long, device=a.device)
    cv: torch.Tensor | None = None
    ci: torch.Tensor | None = None
    for sl in row_chunks(a.shape[0], auto_chunk(b.shape[0], device=a.device)):
        need = (sl.stop - sl.start) * b.shape[0]
        if buffer is None or not _holds(buffer, need, a, b):
            s = a[sl] @ b.T  # no buffer, or not one for this block (a GPU's free memory grew)
        else:
            s = torch.mm(a[sl], b.T, out=buffer[:need].view(-1, b.shape[0]))
        fv[sl], fi[sl] = top_k_rows(s, ka)
        v, i = top_k_down_columns(s, min(kb, s.shape[0]))
        i = i + sl.start
        if cv is not None and ci is not None:
            # earlier blocks hold lower rows: a stable sort keeps them first among ties
            v, j = torch.sort(torch.cat([cv, v], 1), dim=1, descending=True, stable=True)
            v, i = v[:, :kb], torch.gather(torch.cat([ci, i], 1), 1, j[:, :kb])
        cv, ci = v, i
    assert cv is not None and ci is not None, "a has no rows"
    return (fv, fi), (cv.contiguous(), ci.contiguous())


def _top_per_owner(
    owner: torch.Tensor, found: torch.Tensor, scores: torch.Tensor, rows: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entries (owner row, found index, score) gathered into each of `rows` owners' k best,
    ((rows, k) scores descending, indices), padded with -inf and index 0."""
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[torch.argsort(owner[order], stable=True)]  # by owner, each scores descending
    owner, found, scores = owner[order], found[order], scores[order]
    first = torch.searchsorted(owner, torch.arange(rows, device=owner.device))
    rank = torch.arange(owner.numel(), device=owner.device) - first[owner]
    keep = rank < k
    out_v = torch.full((rows, k), -torch.inf, device=owner.device)
    out_i = torch.zeros((rows, k), dtype=torch.long, device=owner.device)
    out_v[owner[keep], rank[keep]] = scores[keep]
    out_i[owner[keep], rank[keep]] = found[keep]
    return out_v, out_i


def _completed(
    lists: tuple[torch.Tensor, torch.Tensor], other: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """`lists` with the hits of `other` (the search the other way) that rank in them."""
    values, idx = lists
    k = values.shape[1]
    owner = other[1].reshape(-1)
    found = torch.arange(other[1].shape[0], device=owner.device)
    found = found.repeat_interleave(other[1].shape[1])
    scores = other[0].reshape(-1)
    # only new hits that could enter their owner's list (most rank below it or are in it)
    new = torch.nonzero((scores >= values[:, -1][owner]) & (scores > -torch.inf)).ravel()
    o = owner[new]
    rows_idx, rows_val = idx.index_select(0, o), values.index_select(0, o)
    listed = (rows_idx == found[new].unsqueeze(1)) & (rows_val > -torch.inf)
    new = new[~listed.any(1)]
    if not new.numel():
        return lists
    rows, owner = torch.unique(owner[new], return_inverse=True)
    extra = _top_per_owner(owner, found[new], scores[new], rows.numel(), k)
    merged, at = top_k_rows(torch.cat([values.index_select(0, rows), extra[0]], 1), k)
    merged_idx = torch.gather(torch.cat([idx.index_select(0, rows), extra[1]], 1), 1, at)
    merged, merged_idx = _ties_by_index(merged, merged_idx)
    return values.index_copy(0, rows, merged), idx.index_copy(0, rows, merged_idx)


def with_reverse_hits(
    fwd: tuple[torch.Tensor, torch.Tensor], bwd: tuple[torch.Tensor, torch.Tensor]
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Approximate candidate lists of both directions, each completed by the other's hits.

    An inner product found by either search is the same number both ways: when the search of
    b's rows among a's finds (j, i), that pair also enters a_i's list if it ranks there. Two
    approximate indexes miss different pairs, so the union finds more of the true top k at
    no search cost (faiss IVF lists on the real suite's 4,000-row pools: recall 0.74-0.98 one
    way, 0.89-0.98 completed; benchmarks/studies/ann_mining.py). It never loses a true top-k entry
    that either list held. Lists are (scores descending, indices) with -inf padding; each
    keeps its length, and rows that gain nothing keep their list as it was.

    Parameters
    ----------
    fwd : (Tensor, Tensor)
        Each a row's candidates among b's rows: (scores, indices), (n_a, k_a).
    bwd : (Tensor, Tensor)
        Each b row's candidates among a's rows, (n_b, k_b).
    """
    return _completed(fwd, bwd), _completed(bwd, fwd)


def _ties_by_index(values: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's list (values descending) with equal values in ascending index order.

    Only rows holding a tie (or a NaN) are sorted: in any other row the values alone fix the
    order, which is the one given. Float scores rarely tie; sorting every list was up to a
    tenth of the two-way search on 3,600 rows without duplicates
    (benchmarks/studies/candidate_search.py --compare ties --copies 1)."""
    values, idx = values.contiguous(), idx.contiguous()
    if values.shape[1] < 2:
        return values, idx
    tied = (values[:, 1:] == values[:, :-1]) | torch.isnan(values[:, 1:])
    rows = torch.nonzero(tied.any(1)).ravel()
    if not rows.numel():
        return values, idx
    some_v, some_i = values[rows], idx[rows]
    some_i, order = torch.sort(some_i, dim=1)
    some_v, order = torch.sort(torch.gather(some_v, 1, order), dim=1, descending=True, stable=True)
    values, idx = values.clone(), idx.clone()  # the caller's tensors stay as they were
    values[rows], idx[rows] = some_v, torch.gather(some_i, 1, order)
    return values, idx
