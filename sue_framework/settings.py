"""One rule for handing a caller's policy to a method it builds: the seed and the device are
decided once, by whoever runs the fit (the CLI's --seed/--device, an experiment's grid, auto's
own settings), and a method's parameters may not set them too. Every place that builds a
method from (name, params) goes through `with_policy`, so a contradiction is refused the same
way everywhere instead of one side silently winning.
"""

from __future__ import annotations

from typing import Any

from sue_framework.errors import InputError

POLICY = ("seed", "device")


def with_policy(params: dict[str, Any], where: str, how: str, **policy: Any) -> dict[str, Any]:
    """`params` with the caller's `policy` (seed, device) added; a policy key already in
    `params` is refused.

    Parameters
    ----------
    params : dict
        The method's own parameters.
    where : str
        What the parameters belong to, for the message ("--params", "method 'CCA'").
    how : str
        Where the policy is set instead, for the message ("--seed and --device").
    **policy
        The caller's settings, e.g. ``seed=0, device="cpu"``.
    """
    clash = sorted(set(policy) & set(params))
    if clash:
        shown = ", ".join(f"{k}={params[k]!r}" for k in clash)
        raise InputError(
            f"{where} sets {shown}, which the caller decides for every fit; remove it there "
            f"and use {how}"
        )
    return {**policy, **params}


def check_no_policy(params: dict[str, Any], where: str, how: str) -> None:
    """Refuse, before any work, parameters that set a policy key (see `with_policy`).

    Parameters
    ----------
    params : dict
        A method's parameters.
    where : str
        What they belong to, for the message.
    how : str
        Where the policy is set instead, for the message.
    """
    with_policy(params, where, how, **{k: None for k in POLICY})
