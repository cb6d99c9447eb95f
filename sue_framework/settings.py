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
    The one rule by which every stage gets its settings (`registry.build` and the components
    that build their child stages use it).

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
    explicit = explicit or {}
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
    updates = {}
    for key, value in (defaults or {}).items():
        if key not in own:
            continue
        if key not in own_setting:
            updates[key] = value
        elif key in explicit and not same_value(own_setting[key], value):
            raise InputError(
                f"the {what} sets {key}={own_setting[key]!r} but the pipeline's "
                f"{explicit[key]}={value!r}; set only one of them, or make them agree"
            )
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
