"""k-nearest-neighbour engines: exact blocked matmul + top-k in torch (CPU or GPU), and faiss
indexes (Flat, IVF, HNSW) when faiss is installed. `knn_search` dispatches by name or "auto".

`exact` holds the exact search, `faiss_index` the faiss wrappers and their GPU moves,
`dispatch` the engine choice and `InnerProductIndex`, `topk` the top-k lists with ties that
self-learning uses, `sharded` the search over a distributed run's shards. Every name is
importable from here.
"""

from sue_framework.components.knn.dispatch import (  # noqa: F401
    AUTO_EXACT_LIMIT,
    AUTO_INDEX_EXACT_LIMIT,
    ENGINES,
    INDEX_ENGINES,
    InnerProductIndex,
    knn_search,
)
from sue_framework.components.knn.exact import (  # noqa: F401
    METRICS,
    _half_candidates,
    _prepare,
    _scores,
    _to_distances,
    _top_distances,
    drop_self,
    exact_knn,
    knn_block,
)
from sue_framework.components.knn.faiss_index import (  # noqa: F401
    _faiss,
    _maybe_on_gpu,
    faiss_available,
    faiss_gpu_available,
    faiss_knn,
)
from sue_framework.components.knn.sharded import (  # noqa: F401
    sharded_knn,
)
from sue_framework.components.knn.topk import (  # noqa: F401
    _completed,
    _first_k_sorted,
    _holds,
    _ties_by_index,
    _top_per_owner,
    score_buffer,
    top_k_both_ways,
    top_k_down_columns,
    top_k_rows,
    with_reverse_hits,
)
