"""The component registry: built-ins and installed plugins, loaded on first use through pluggy.

A plugin package declares an entry point in the group ``sue_framework`` whose object (usually a
module) implements ``sue_register(registry)`` marked with ``sue_framework.hookimpl``. Built-ins
register through the same hook, always first; a plugin that builds on other plugins names them
(their entry-point names) in a module attribute ``sue_requires`` and registers after them.
Set ``SUE_FRAMEWORK_DISABLE_PLUGIN_AUTOLOAD=1`` to load built-ins only (like pytest's switch).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy

from sue_framework.errors import UnknownComponentError
from sue_framework.hookspecs import PROJECT, SUEHookSpecs

KINDS: tuple[str, ...] = (
    "encoder",
    "graph",
    "solver",
    "aligner",
    "matcher",
    "method",
    "task",
    "dataset",
    "selector",
)
ENTRY_POINT_GROUP = PROJECT
AUTOLOAD_ENV = "SUE_FRAMEWORK_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PROVIDER = "sue-framework"
BUILTIN_PLUGIN = "sue_framework.builtins"
FITTED_KINDS = ("graph", "solver", "aligner", "matcher", "method")  # scikit-learn estimators
NEEDS_SETTINGS = ("encoder", "dataset")  # may require a model name, a folder, files
SLOW_IMPORT_SECONDS = 3.0


@dataclass(frozen=True)
class Entry:
    """One registered component. `factory` is the callable, or, until first use, a reference
    "package.module:attr" (or "package.module:MAPPING[key]") to import it from.

    Parameters
    ----------
    kind : str
        One of KINDS.
    name : str
        The registered name.
    factory : callable or str
        The factory, or a reference to import it from.
    provider : str
        The distribution that registered it.
    """

    kind: str
    name: str
    factory: Callable[..., Any] | str
    provider: str


def resolve_reference(ref: str) -> Any:
    """The object a "package.module:attr" (dotted attrs, or "MAPPING[key]") reference names.

    Parameters
    ----------
    ref : str
        "package.module:attr", "package.module:a.b" or "package.module:MAPPING[key]".
    """
    import importlib
    import re

    module, sep, path = ref.partition(":")
    match = re.fullmatch(r"([\w.]+)(?:\[(\w+)\])?", path)
    if not sep or not module or match is None:
        raise ValueError(f"a component reference reads 'package.module:attr', got {ref!r}")
    obj: Any = importlib.import_module(module)
    for part in match.group(1).split("."):
        obj = getattr(obj, part)
    return obj[match.group(2)] if match.group(2) else obj


class Registry:
    """Maps (kind, name) to a factory. Names are case-sensitive, kinds are fixed (see KINDS).

    Parameters
    ----------
    autoload : bool or None
        Load installed plugins on first use; None follows the environment
        (SUE_FRAMEWORK_DISABLE_PLUGIN_AUTOLOAD).
    """

    def __init__(self, autoload: bool | None = None) -> None:
        self._entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
        self._autoload = autoload
        self._loaded = False
        self._loading = False
        self._provider = BUILTIN_PROVIDER
        self._dist_of: dict[int, str] = {}
        self._builtins: dict[tuple[str, str], Any] = {}
        self.plugin_manager = pluggy.PluginManager(PROJECT)
        self.plugin_manager.add_hookspecs(SUEHookSpecs)

    @contextmanager
    def use(self) -> Iterator[Registry]:
        """Make this registry the one the library builds from, inside the block (this thread
        and the fits it runs side by side)."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    # -- registration ----------------------------------------------------------------------------
    def register(
        self, kind: str, name: str, factory: Callable[..., Any], *, replace: bool = False
    ) -> None:
        """Register `factory` (usually a class) as `name` of `kind`. The built-ins and plugins
        are loaded first, so `replace=True` can override one of them.

        `factory` may also be a reference, "package.module:Class": it is imported on first use
        (and checked against the contract then), so listing names stays free of the heavy
        imports the component needs."""
        self._check_kind(kind)
        self.load()  # a no-op while loading, when the plugins' own hooks call this
        if not isinstance(name, str) or not name:
            raise ValueError("a component name must be a non-empty string")
        if isinstance(factory, str):
            if ":" not in factory:
                raise ValueError(
                    f"the reference for {kind} {name!r} must read 'package.module:attr', got "
                    f"{factory!r}"
                )
        elif not callable(factory):
            raise TypeError(f"the factory for {kind} {name!r} must be callable, got {factory!r}")
        else:
            _check_contract(kind, name, factory)
        old = self._entries[kind].get(name)
        if old is not None and not replace and not _same_factory(old.factory, factory):
            raise ValueError(
                f"{kind} {name!r} is already registered by {old.provider}; "
                "pass replace=True to override it deliberately"
            )
        if (
            old is not None
            and not _same_factory(old.factory, factory)
            and _same_factory(self._builtins.get((kind, name)), old.factory)
        ):
            warnings.warn(
                f"{kind} {name!r} of sue_framework is replaced by {_qualname(factory)}"
                + (f" (from {self._provider})" if self._loading else "")
                + f"; every use of {name!r} now builds the replacement",
                stacklevel=2,
            )
        self._entries[kind][name] = Entry(kind, name, factory, self._provider)

    def register_all(self, components: Iterable[tuple[str, str, Any]]) -> None:
        """`register(kind, name, factory)` for each (kind, name, factory or reference)."""
        for kind, name, factory in components:
            self.register(kind, name, factory)

    # -- lookup ----------------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Callable[..., Any]:
        """The factory registered as `name` of `kind`; the error lists the available names."""
        self._check_kind(kind)
        self.load()
        entry = self._entries[kind].get(name)
        if entry is None:
            names = sorted(self._entries[kind])
            available = ", ".join(names) or "(none)"
            close = _close_name(str(name), names)
            hint = f"did you mean {close!r}? " if close else ""
            raise UnknownComponentError(
                f"no {kind} named {name!r}; {hint}available {kind} names: {available}. "
                "Install the plugin package that provides it, or check the spelling."
            )
        return self._resolved(entry)

    def _resolved(self, entry: Entry) -> Callable[..., Any]:
        """The entry's factory, imported (and checked) on first use when it is a reference."""
        if not isinstance(entry.factory, str):
            return entry.factory
        try:
            factory = resolve_reference(entry.factory)
            if not callable(factory):
                raise TypeError(f"{entry.factory} is not callable")
            _check_contract(entry.kind, entry.name, factory)
        except Exception as exc:
            raise UnknownComponentError(
                f"the {entry.kind} {entry.name!r} registered by {entry.provider} as "
                f"{entry.factory} cannot be used: {type(exc).__name__}: {exc}"
            ) from exc
        resolved = Entry(entry.kind, entry.name, factory, entry.provider)
        if self._entries[entry.kind].get(entry.name) is entry:
            self._entries[entry.kind][entry.name] = resolved
        if self._builtins.get((entry.kind, entry.name)) == entry.factory:
            self._builtins[(entry.kind, entry.name)] = factory
        return factory

    def names(self, kind: str) -> list[str]:
        """Registered names of `kind`, sorted."""
        self._check_kind(kind)
        self.load()
        return sorted(self._entries[kind])

    def entries(self) -> list[Entry]:
        """Every registered component, sorted by kind order then name."""
        self.load()
        return [self._entries[k][n] for k in KINDS for n in sorted(self._entries[k])]

    def provider_of(self, kind: str, name: str) -> str | None:
        """The distribution that registered `name` of `kind` (None if nothing did)."""
        self.load()
        entry = self._entries[kind].get(name) if kind in self._entries else None
        return None if entry is None else entry.provider

    def name_of(self, obj: Any) -> tuple[str, str] | None:
        """(kind, name) under which the class of `obj` is registered, if any."""
        self.load()
        cls = obj if isinstance(obj, type) else type(obj)
        for kind in KINDS:
            for name, entry in sorted(self._entries[kind].items()):
                factory = entry.factory
                if isinstance(factory, str):  # import only references that could be `cls`
                    if factory.rpartition(":")[2].rpartition(".")[2] != cls.__name__:
                        continue
                    factory = self._resolved(entry)
                if factory is cls:
                    return kind, name
        return None

    def build(
        self,
        kind: str,
        spec: Any,
        params: dict | None = None,
        defaults: dict[str, Any] | None = None,
        explicit: dict[str, str] | None = None,
    ) -> Any:
        """A fresh component from a registered name (with `params`) or a clone of an instance.

        `defaults` are a pipeline's policy (dimensions, seed, device), set on every parameter of
        that name the component has, unless the stage sets it itself: in its `params` when
        given by name, or, for an instance, a value other than its class's default. `explicit`
        names the policies the caller set on purpose (parameter -> the caller's name for it);
        one that disagrees with the stage's own setting is refused rather than either silently
        winning. Unknown `params` raise an InputError that lists the accepted ones. Child
        stages a component declares (`CHILDREN`) given by name are built here too, so that
        components only ever see objects (`resolve_children`). The settings rule is
        `settings.configure`.
        """
        from sue_framework.errors import InputError
        from sue_framework.runtime.settings import configure

        if isinstance(spec, str):
            factory = self.get(kind, spec)
            children = self.resolve_children(factory, params or {})
            return configure(factory, children, defaults, explicit, f"{kind} {spec!r}")
        if params:
            raise InputError(f"{kind} params apply to a {kind} given by name, not an instance")
        own = spec.get_params(deep=False) if hasattr(spec, "get_params") else {}
        named = self.resolve_children(type(spec), own)
        named = {k: v for k, v in named.items() if v is not own.get(k)}
        return configure(spec, named, defaults, explicit, kind)

    def resolve_children(self, factory: Any, params: dict, fill_defaults: bool = True) -> dict:
        """`params` with each child stage that `factory` declares (its `CHILDREN`: parameter ->
        (registry kind, default name or names)) turned into objects: a name, or a list of
        names, is built from this registry with its class defaults, and a child left out (or
        None) is built from the declared default name (with `fill_defaults`), so that
        replacing that name in a registry reaches it too. The child's own settings stay in
        the parameter's `<name>_params`, for the component to apply; names of grandchildren
        inside them are turned into objects the same way.

        Parameters
        ----------
        factory : class
            The component class.
        params : dict
            Its parameters as given.
        fill_defaults : bool
            Build children left out from their declared default names.
        """
        out = dict(params)
        for param, (kind, default) in getattr(factory, "CHILDREN", {}).items():
            spec = out.get(param)
            if spec is None and fill_defaults:
                spec = default
            if isinstance(spec, str):
                out[param] = self.build(kind, spec)
            elif isinstance(spec, (list, tuple)) and any(isinstance(p, str) for p in spec):
                out[param] = [self.build(kind, p) if isinstance(p, str) else p for p in spec]
            children, own = out.get(param), out.get(f"{param}_params")
            if own is None or children is None:
                continue
            if isinstance(children, (list, tuple)) and isinstance(own, (list, tuple)):
                if len(own) != len(children):
                    continue  # the component says what is wrong
                out[f"{param}_params"] = [
                    self.resolve_children(type(c), p, False) if p else p
                    for c, p in zip(children, own, strict=True)
                ]
            elif isinstance(own, dict):
                out[f"{param}_params"] = self.resolve_children(type(children), own, False)
        return out

    # -- loading ---------------------------------------------------------------------------------
    @property
    def autoload(self) -> bool:
        if self._autoload is not None:
            return self._autoload
        return os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in {"1", "true", "yes"}

    def load(self) -> None:
        """Register built-ins and (unless switched off) every installed plugin, once."""
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            from sue_framework import builtins

            pm = self.plugin_manager
            if not pm.is_registered(builtins) and not pm.is_blocked(BUILTIN_PLUGIN):
                pm.register(builtins, name=BUILTIN_PLUGIN)
                self._dist_of[id(builtins)] = BUILTIN_PROVIDER
            if self.autoload:
                self._load_entry_points()
            self._provider = BUILTIN_PROVIDER
            for impl in pm.hook.sue_register.get_hookimpls():  # the same hook as any plugin's,
                if impl.plugin_name == BUILTIN_PLUGIN:  # called first
                    impl.function(registry=self)
            self._builtins = {(k, n): e.factory for k in KINDS for n, e in self._entries[k].items()}
            for name, impl in self._plugins_in_dependency_order():
                self._register_plugin(name, impl)
            self._loaded = True
        finally:
            self._provider = BUILTIN_PROVIDER
            self._loading = False

    def _plugins_in_dependency_order(self) -> list[tuple[str, Any]]:
        """(name, hook implementation) of each third-party plugin, after those it requires.

        A plugin names the plugins it builds on (their entry-point names) in a module attribute
        `sue_requires`. Built-ins always register first, so any plugin may use them without
        saying so. A plugin that requires one that is missing, skipped, or on a cycle is skipped
        with a warning.
        """
        impls = {
            impl.plugin_name: impl
            for impl in self.plugin_manager.hook.sue_register.get_hookimpls()
            if impl.plugin_name != BUILTIN_PLUGIN
        }
        needs = {}
        for name, impl in impls.items():
            declared = getattr(impl.plugin, "sue_requires", ())
            needs[name] = [declared] if isinstance(declared, str) else list(declared)
        done: list[str] = []
        skipped: set[str] = set()

        def visit(name: str, chain: tuple[str, ...]) -> bool:
            if name in done or name in skipped:
                return name in done
            for dep in needs[name]:
                if dep == name or dep in chain:
                    loop = (*chain[chain.index(dep) :], name, dep) if dep in chain else (name, dep)
                    why = f"its sue_requires form a cycle: {' -> '.join(loop)}"
                elif dep not in impls:
                    why = f"it requires the plugin {dep!r}, not installed or failed to load"
                elif visit(dep, (*chain, name)):
                    continue
                else:
                    why = f"the plugin it requires, {dep!r}, was skipped"
                skipped.add(name)
                self._skip(name, impls[name].plugin, why)
                return False
            done.append(name)
            return True

        for name in sorted(impls):
            visit(name, ())
        return [(name, impls[name]) for name in done]

    def _register_plugin(self, name: str, impl: Any) -> None:
        """Run one plugin's hook; if it fails, undo what it registered and warn."""
        self._provider = self._dist_of.get(id(impl.plugin), name)
        before = {kind: dict(entries) for kind, entries in self._entries.items()}
        try:
            impl.function(registry=self)
        except (Exception, SystemExit) as exc:
            self._entries = before
            hint = (
                " If it builds on another plugin, name that plugin in its `sue_requires`."
                if isinstance(exc, UnknownComponentError)
                else ""
            )
            why = f"it failed while registering: {type(exc).__name__}: {exc}.{hint}"
            self._skip(name, impl.plugin, why)
        finally:
            self._provider = BUILTIN_PROVIDER

    def _skip(self, name: str, plugin: Any, why: str) -> None:
        provider = self._dist_of.get(id(plugin), name)
        warnings.warn(
            f"sue_framework plugin {name!r} ({provider}) was skipped: {why}", stacklevel=5
        )

    def _load_entry_points(self) -> None:
        """Load each installed plugin on its own, so one broken plugin cannot hide the others."""
        pm = self.plugin_manager
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            provider = ep.dist.name if ep.dist is not None else ep.value
            t0 = time.perf_counter()
            slow = threading.Timer(SLOW_IMPORT_SECONDS, _say_slow, (ep.name, provider))
            slow.daemon = True
            slow.start()
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except (Exception, SystemExit) as exc:  # a plugin's sys.exit must not end `sue`
                warnings.warn(
                    f"sue_framework plugin {ep.name!r} from {provider} failed to load and was "
                    f"skipped: {type(exc).__name__}: {exc}",
                    stacklevel=4,
                )
                continue
            finally:
                slow.cancel()
            seconds = time.perf_counter() - t0
            if seconds > SLOW_IMPORT_SECONDS:
                warnings.warn(
                    f"sue_framework plugin {ep.name!r} from {provider} took {seconds:.1f} s to "
                    "import, and every command waits for it; uninstall it or set "
                    f"{AUTOLOAD_ENV}=1 where it is not needed",
                    stacklevel=4,
                )
            self._dist_of[id(plugin)] = provider

    def _check_kind(self, kind: str) -> None:
        if kind not in KINDS:
            raise UnknownComponentError(
                f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}"
            )


def _same_factory(a: Any, b: Any) -> bool:
    """One factory, or one reference to it."""
    return a is b or (isinstance(a, str) and a == b)


def _say_slow(name: str, provider: str) -> None:
    """Said while a plugin import is still running, so that a stalled command is explained."""
    logging.getLogger("sue_framework.registry").warning(
        "still importing the sue_framework plugin %r from %s (over %.0f s) ...",
        name,
        provider,
        SLOW_IMPORT_SECONDS,
    )


def _qualname(factory: Any) -> str:
    return f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', factory)}"


def _check_contract(kind: str, name: str, factory: Any) -> None:
    """Refuse, at registration, a factory that the library could not build: one taking *args,
    one with a parameter that has no default (except encoders and data sets, which may need
    a model name or files), a fitted kind's class without fit."""
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return  # builtins and C types have no signature to check
    where = f"{kind} {name!r} ({_qualname(factory)})"
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        raise TypeError(f"{where} takes *args; components take keyword parameters only")
    required = [
        p.name
        for p in params
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if required and kind not in NEEDS_SETTINGS:
        raise TypeError(
            f"{where} requires {', '.join(required)}; every parameter of a {kind} needs a "
            "default, so that it can be built by name and cloned"
        )
    if (
        kind in FITTED_KINDS
        and isinstance(factory, type)
        and not callable(getattr(factory, "fit", None))
    ):
        raise TypeError(f"{where} has no fit method; a {kind} is fitted on data")


_DEFAULT = Registry()
_ACTIVE: ContextVar[Registry | None] = ContextVar("sue_active_registry", default=None)


class _ActiveRegistry:
    """`sue_framework.registry`: whichever registry is active (see `Registry.use`), else the
    process-wide default. Every lookup inside the library goes through it, so a private
    registry controls how every stage, and every stage's own stages, are built."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_ACTIVE.get() or _DEFAULT, name)

    def __repr__(self) -> str:
        return f"<active sue_framework registry: {_ACTIVE.get() or _DEFAULT!r}>"


registry: Registry = _ActiveRegistry()  # type: ignore[assignment]


def _close_name(name: str, names: list[str]) -> str | None:
    """The registered name `name` most likely meant: the same but for case, dashes or
    underscores, else the closest spelling (difflib), if any is close."""
    import difflib

    folded = {n.lower().replace("-", "_"): n for n in names}
    key = name.lower().replace("-", "_")
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None
