"""Distribution matchers trained on unpaired rows: the MMD residual network (paper Eq. 1,
`mmd`), an adversarial residual matcher (`adversarial`), a relational OT matcher (SOTAlign-style,
`ot`), all on one residual base (`residual`), and `none` for ablations. Every name is importable
from here.
"""

from sue_framework.components.matchers.adversarial import (  # noqa: F401
    AdversarialMatcher,
)
from sue_framework.components.matchers.mmd import (  # noqa: F401
    _MMD2,
    BANDWIDTH_RULES,
    MMDResNet,
    _bandwidth_check,
    _kernel_scale,
    _sq_dists,
    mmd2_rbf,
    mmd_val_loss,
)
from sue_framework.components.matchers.none import (  # noqa: F401
    NoMatcher,
)
from sue_framework.components.matchers.ot import (  # noqa: F401
    OTMatcher,
    _cosine,
)
from sue_framework.components.matchers.residual import (  # noqa: F401
    _ResidualMatcher,
)
