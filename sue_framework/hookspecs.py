"""The hooks a sue_framework plugin implements (entry point group ``sue_framework``)."""

from __future__ import annotations

import pluggy

PROJECT = "sue_framework"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class SUEHookSpecs:
    """The hooks a plugin package implements (pluggy specifications)."""

    @hookspec
    def sue_register(self, registry) -> None:
        """Register components with ``registry.register(kind, name, factory)``."""
