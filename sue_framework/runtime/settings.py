"""The one rule by which every stage and every method gets its settings (`merged_settings`).

The seed and the device are decided once, by whoever runs the fit (the CLI's --seed/--device,
an experiment's grid, auto's own settings): a method's parameters may not set them too
(`with_policy`, used wherever a method is built from (name, params)). A pipeline's dimensions,
seed and device reach each stage that does not set them itself (`configure`), and a stage's
own setting that contradicts one the caller chose on purpose is refused. Both are the same
merge, so a contradiction is refused the same way everywhere instead of one side silently
winning.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sue_framework.errors import InputError

POLICY = ("seed", "device")


def merged_settings(
    own: dict[str, Any],
    caller: dict[str, Any],
    what: str,
    *,
    accepted: Collection[str] | None = None,
    explicit: dict[str, str] | None = None,
    owned: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The caller's settings that a stage or method receives: each of `caller` that it
    accepts and does not set in `own`. A setting in `own` that the caller owns (`owned`) is
    refused, whatever its value; one that the caller chose on purpose (`explicit`) is refused
    when the values differ.

    Parameters
    ----------
    own : dict
        The settings the stage or method sets itself.
    caller : dict
        The caller's settings (dimensions, seed, device).
    what : str
        The stage or method as messages name it ("aligner 'cca'", "--params").
    accepted : collection of str, optional
        The parameters the stage takes (None: every one of `caller`).
    explicit : dict, optional
        Settings the caller chose on purpose, as {parameter: the caller's name for it}.
    owned : dict, optional
        Settings only the caller decides, as {parameter: where the caller sets it}.
    """
    updates = {}
    for key, value in caller.items():
        if accepted is not None and key not in accepted:
            continue
        if key not in own:
            updates[key] = value
        elif owned and key in owned:
            raise InputError(
                f"{what} sets {key}={own[key]!r}, which the caller decides for every fit; "
                f"remove it there and use {owned[key]}"
            )
        elif explicit and key in explicit and not same_value(own[key], value):
            raise InputError(
                f"the {what} sets {key}={own[key]!r} but the pipeline's {explicit[key]}="
                f"{value!r}; set only one of them, or make them agree"
            )
    return updates


def with_policy(params: dict[str, Any], where: str, how: str, **policy: Any) -> dict[str, Any]:
    """`params` with the caller's `policy` (seed, device) added; a policy key already in
    `params` is refused (`merged_settings`).

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
    owned = dict.fromkeys(policy, how)
    return {**params, **merged_settings(params, policy, where, owned=owned)}


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
    with_policy(params, where, how, **dict.fromkeys(POLICY))


def configure(
    component: Any,
    params: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
    explicit: dict[str, str] | None = None,
    what: str = "component",
) -> Any:
    """A fresh component ready to fit, from a class (built with `params`) or an instance (a
    clone, with `params` set on it); then each of `defaults` (a caller's dimensions, seed,
    device) set on every parameter of that name the component has and does not set itself: in
    `params`, or, for an instance, by a value other than its class's default. `explicit` names
    the defaults the caller set on purpose (parameter -> the caller's name for it); one that
    disagrees with the component's own setting is refused rather than either silently winning.
    `registry.build` and the components that build their child stages use it; the merge is
    `merged_settings`.

    Parameters
    ----------
    component : class or estimator
        A component class (or factory), or an instance to clone.
    params : dict, optional
        The component's own settings; unknown ones are refused, listing those accepted.
    defaults : dict, optional
        The caller's settings, applied where the component sets none.
    explicit : dict, optional
        Defaults the caller set on purpose, as {parameter: the caller's name for it}.
    what : str
        The component as the messages name it ("aligner 'semi_cca'").
    """
    import inspect

    from sklearn.base import clone

    params = dict(params or {})
    is_instance = hasattr(component, "get_params") and not inspect.isclass(component)
    factory = type(component) if is_instance else component
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        raise InputError(
            f"{what} takes no parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(accepted) or 'none'}"
        )
    if is_instance:
        obj = clone(component)
        class_defaults = {k: p.default for k, p in accepted.items()}
        own_setting = {
            k: v
            for k, v in obj.get_params(deep=False).items()
            if k not in class_defaults or not same_value(v, class_defaults[k])
        }
        if params:
            obj.set_params(**params)
            own_setting.update(params)
    else:
        obj = factory(**params)
        own_setting = params
    if not hasattr(obj, "get_params"):  # plain factories (datasets) take no pipeline policy
        return obj
    own = obj.get_params(deep=False)
    updates = merged_settings(own_setting, defaults or {}, what, accepted=own, explicit=explicit)
    obj.set_params(**updates)
    return obj


def same_value(a: Any, b: Any) -> bool:
    """Equality for parameter values (numbers, strings, None, sequences; others by identity).

    Parameters
    ----------
    a, b : any
        The two values.
    """
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and the like
        return a is b


def child(
    spec: Any,
    params: dict[str, Any] | None,
    default: Any,
    defaults: dict[str, Any],
    what: str,
) -> Any:
    """The child stage a component fits (an aligner's base, a solver's graph): `spec`, an
    instance (None: `default`, a class), configured with `params` and the parent's `defaults`
    (`configure`). Components take objects, never names: a name is refused here, and
    `registry.build` turns names into objects before a component sees them.

    Parameters
    ----------
    spec : estimator or None
        The child as given to the component.
    params : dict, optional
        The child's own settings (the component's `<name>_params`).
    default : class or None
        The child's class when `spec` is None (None: a child must be given).
    defaults : dict
        The parent's settings passed down (width, seed, device) where the child sets none.
    what : str
        The parameter, for messages ("SelfLearning.base").
    """
    example = f" (e.g. {default.__name__}())" if default is not None else ""
    if isinstance(spec, str):
        raise InputError(
            f"{what} is the name {spec!r}; components take objects: pass an instance{example}, "
            "or build the whole component by name with registry.build(kind, name, params), "
            "which turns the names in params into objects"
        )
    if spec is None and default is None:
        raise InputError(f"{what} is None; pass an instance")
    return configure(default if spec is None else spec, params, defaults, None, what)
