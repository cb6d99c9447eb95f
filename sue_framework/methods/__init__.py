"""Whole methods, each fitted on weakly paired data: the paper's pipeline `SUE` (`sue`), its
named variants (`variants`), `auto`, the recommended method (`auto`), and `SUESelect`
(`sue_select`).

May import everything below it: the foundation, the runtime, the core, storage, model
selection and the components; never evaluation, the applications or the command line.
"""

from sue_framework.methods.variants import CORE_VARIANTS, variant

__all__ = ["CORE_VARIANTS", "variant"]
