import re
import subprocess
import sys
import textwrap

import pytest

from sue_framework import InputError, Registry, UnknownComponentError, hookimpl, registry
from tests.conftest import needs


def test_builtins_register_through_the_hook():
    from sue_framework.registry import BUILTIN_PLUGIN

    r = Registry(autoload=False)
    assert "exact" in r.names("solver") and "cca" in r.names("aligner")
    assert {e.provider for e in r.entries()} == {"sue-framework"}
    blocked = Registry(autoload=False)  # built-ins come only through the plugin manager's hook
    blocked.plugin_manager.set_blocked(BUILTIN_PLUGIN)
    assert blocked.names("solver") == []


def test_unknown_name_lists_available():
    with pytest.raises(UnknownComponentError, match="available solver names: .*exact"):
        registry.get("solver", "nope")
    with pytest.raises(UnknownComponentError, match="unknown component kind"):
        registry.get("widget", "x")


def test_register_conflict_and_replace():
    r = Registry(autoload=False)

    class A: ...

    class B: ...

    r.register("task", "t", A)
    with pytest.raises(ValueError, match="already registered"):
        r.register("task", "t", B)
    r.register("task", "t", B, replace=True)
    assert r.get("task", "t") is B


@needs("sue_baselines", "sue_tasks")
def test_installed_plugin_packages_found_through_entry_point():
    """The repo's plugin packages are pip-installed; they must arrive via the entry point."""
    providers = {(e.kind, e.name): e.provider for e in registry.entries()}
    assert providers[("method", "contrastive")] == "sue-baselines"
    assert providers[("task", "zero_shot")] == "sue-tasks"
    assert providers[("task", "retrieval")] == "sue-framework"  # the core ships what it needs


@pytest.mark.slow
def test_a_freshly_installed_plugin_is_discovered(tmp_path):
    """A package installed in a site dir (dist-info + entry point) is found by a new process."""
    pkg = tmp_path / "toy_sue_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent("""
        from sue_framework import hookimpl
        class Echo:
            def evaluate(self, a):
                return {"n": float(len(a))}
        @hookimpl
        def sue_register(registry):
            registry.register("task", "echo", Echo)
    """)
    )
    info = tmp_path / "toy_sue_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-sue-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sue_framework]\ntoy = toy_sue_plugin\n")
    broken = tmp_path / "broken_sue_plugin-1.0.dist-info"  # its module does not exist
    broken.mkdir()
    (broken / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-sue-plugin\nVersion: 1.0\n"
    )
    (broken / "entry_points.txt").write_text("[sue_framework]\nbroken = no_such_module_xyz\n")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sue_framework import registry;"
        "e = [e for e in registry.entries() if e.name == 'echo'][0];"
        "print(e.provider, registry.get('task', 'echo')().evaluate([1, 2]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[0] == "toy-sue-plugin" and "'n': 2.0" in out.stdout
    assert "'broken' from broken-sue-plugin failed to load" in out.stderr

    env_off = {"SUE_FRAMEWORK_DISABLE_PLUGIN_AUTOLOAD": "1"}
    import os

    code_off = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sue_framework import registry;"
        "print(sorted(registry.names('task')), 'sue_baselines' in sys.modules)"
    )
    off = subprocess.run(
        [sys.executable, "-c", code_off, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, **env_off},
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "['retrieval'] False"  # the built-in task only, no plugin


def test_plugin_object_registered_by_hand():
    r = Registry(autoload=False)

    class Plug:
        @hookimpl
        def sue_register(self, registry):
            registry.register("encoder", "fake", dict)

    r.plugin_manager.register(Plug(), name="hand")
    assert r.get("encoder", "fake") is dict
    assert [e.provider for e in r.entries() if e.name == "fake"] == ["hand"]


def _install(site, name, body, dist=None):
    """A plugin package `name` installed into the folder `site` with its entry point."""
    (site / f"{name}.py").write_text(textwrap.dedent(body))
    dist = dist or name.replace("_", "-")
    info = site / f"{name}-1.0.dist-info"  # the folder name takes underscores
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[sue_framework]\n{name} = {name}\n")


@pytest.mark.slow
def test_plugins_build_on_builtins_and_on_the_plugins_they_require(tmp_path):
    """Built-ins register first; a plugin that names another in sue_requires runs after it,
    whatever the names' order; missing, cyclic and failing plugins are skipped and undone."""
    _install(
        tmp_path,
        "zz_wrap",
        """
        from sue_framework import hookimpl
        @hookimpl
        def sue_register(registry):
            mmd = registry.get("matcher", "mmd")  # a built-in
            registry.register("matcher", "wrapped_mmd", type("WrappedMMD", (mmd,), {}))
    """,
    )
    _install(
        tmp_path,
        "aa_alias",
        """
        from sue_framework import hookimpl
        sue_requires = ["zz_wrap"]
        @hookimpl
        def sue_register(registry):
            registry.register("matcher", "alias_mmd", registry.get("matcher", "wrapped_mmd"))
    """,
    )
    _install(
        tmp_path,
        "needs_missing",
        """
        from sue_framework import hookimpl
        sue_requires = ["not_installed_plugin"]
        @hookimpl
        def sue_register(registry):
            registry.register("task", "never_a", dict)
    """,
    )
    for me, other in (("cyc_a", "cyc_b"), ("cyc_b", "cyc_a")):
        _install(
            tmp_path,
            me,
            f"""
            from sue_framework import hookimpl
            sue_requires = ["{other}"]
            @hookimpl
            def sue_register(registry):
                registry.register("task", "never_{me}", dict)
        """,
        )
    _install(
        tmp_path,
        "half_done",
        """
        from sue_framework import hookimpl
        @hookimpl
        def sue_register(registry):
            registry.register("task", "half", dict)
            registry.get("matcher", "from_a_plugin_it_did_not_declare")
    """,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sue_framework import registry;"
        "m = registry.names('matcher'); t = registry.names('task');"
        "print('MATCHERS', 'wrapped_mmd' in m, 'alias_mmd' in m, registry.get('matcher', "
        "'alias_mmd').__mro__[1].__name__);"
        "print('TASKS', [n for n in t if n.startswith(('never', 'half'))]);"
        "print('PROVIDER', [e.provider for e in registry.entries() if e.name == 'alias_mmd'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert "MATCHERS True True MMDResNet" in out.stdout
    assert "TASKS []" in out.stdout  # none of the skipped plugins left an entry behind
    assert "PROVIDER ['aa-alias']" in out.stdout
    err = " ".join(out.stderr.split())
    assert "'needs_missing' (needs-missing) was skipped: it requires the plugin " in err
    assert "'not_installed_plugin'" in err
    assert "cycle: cyc_a -> cyc_b -> cyc_a" in err
    assert "'half_done' (half-done) was skipped: it failed while registering" in err
    assert "name that plugin in its `sue_requires`" in err


def test_a_private_registry_controls_every_nested_stage():
    """Inside `with r.use()`, a method's stages and their own stages (the solver's graph) come
    from r; outside, from the default registry."""
    from sue_framework import SUE, paper_split
    from sue_framework.components import PaperKNNGraph
    from tests.conftest import two_view_blobs

    calls = []

    class CountingGraph(PaperKNNGraph):
        def fit(self, X):
            calls.append(len(X))
            return super().fit(X)

    private = Registry(autoload=False)
    private.register("graph", "paper_knn", CountingGraph, replace=True)
    x, y, _ = two_view_blobs(300, seed=0)
    data = paper_split(x, y, n_pairs=30, n_test=50).train
    model = SUE(se_dim=6, out_dim=4, matcher="none", device="cpu")
    with private.use():
        assert registry.get("graph", "paper_knn") is CountingGraph
        model.fit(data)
    assert sorted(calls) == sorted([data.x.shape[0], data.y.shape[0]])
    model.fit(data)
    assert len(calls) == 2 and registry.get("graph", "paper_knn") is PaperKNNGraph


@pytest.mark.slow
def test_every_module_imports_on_its_own():
    """No import cycle: each module of the package imports first, in a fresh package state."""
    import pkgutil

    import sue_framework

    names = [
        m.name
        for m in pkgutil.walk_packages(sue_framework.__path__, "sue_framework.")
        if m.name != "sue_framework.__main__"  # runs the CLI when imported
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for m in [m for m in sys.modules if m.startswith('sue_framework')]:\n"
        "        del sys.modules[m]\n"
        "    importlib.import_module(name)\n"
        "print('ok', len(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-800:]
    assert len(names) > 20


def _site_plugin(site, module: str, source: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    name = module.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[sue_framework]\n{module} = {module}\n")


@pytest.mark.slow
def test_misbehaving_plugins_are_contained_and_named(tmp_path):
    """sys.exit at import, a slow import, a constructor that breaks the contract, a silent
    take-over of a built-in: each is reported with the plugin's name; the rest still works."""
    _site_plugin(tmp_path, "exits_plugin", "import sys\nsys.exit(3)\n")
    _site_plugin(
        tmp_path,
        "slow_plugin",
        """
        import time
        from sue_framework import hookimpl
        time.sleep(3.5)
        @hookimpl
        def sue_register(registry):
            pass
    """,
    )
    _site_plugin(
        tmp_path,
        "badsig_plugin",
        """
        from sue_framework import hookimpl
        class NeedsK:
            def __init__(self, k):
                self.k = k
            def fit(self, data):
                return self
        @hookimpl
        def sue_register(registry):
            registry.register("method", "needs_k", NeedsK)
    """,
    )
    _site_plugin(
        tmp_path,
        "takeover_plugin",
        """
        from sue_framework import hookimpl
        class MyRetrieval:
            def evaluate(self, zx, zy):
                return {}
        @hookimpl
        def sue_register(registry):
            registry.register("task", "retrieval", MyRetrieval, replace=True)
    """,
    )
    import os

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "sue_framework", "plugins"], capture_output=True, text=True,
        timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert " auto " in out.stdout and "needs_k" not in out.stdout  # the rest still registered
    err = out.stderr
    assert "'exits_plugin' from exits-plugin failed to load and was skipped: SystemExit: 3" in err
    assert "still importing the sue_framework plugin 'slow_plugin'" in err
    assert re.search(r"'slow_plugin' from slow-plugin took \d\.\d s to import", err)
    assert "plugin 'badsig_plugin' (badsig-plugin) was skipped" in err
    assert "requires k; every parameter of a method needs a default" in err
    assert "task 'retrieval' of sue_framework is replaced by takeover_plugin.MyRetrieval" in err


def test_register_refuses_factories_the_library_could_not_build():
    from sue_framework.registry import Registry

    r = Registry(autoload=False)

    class NoFit:
        def __init__(self, seed=0):
            self.seed = seed

    class Star:
        def __init__(self, *args):
            pass

    with pytest.raises(TypeError, match="has no fit method"):
        r.register("aligner", "nofit", NoFit)
    with pytest.raises(TypeError, match=r"takes \*args"):
        r.register("task", "star", Star)
    r.register("dataset", "needs_files", lambda path: None)  # data sets may require settings
    assert "needs_files" in r.names("dataset")


def test_a_component_registered_by_reference_is_imported_only_when_built(tmp_path, monkeypatch):
    (tmp_path / "lazy_sue_component.py").write_text(
        textwrap.dedent("""
        class Echo:
            def evaluate(self, a):
                return {"n": float(len(a))}
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    r = Registry(autoload=False)
    r.register("task", "echo", "lazy_sue_component:Echo")
    r.register("task", "broken", "lazy_sue_component:Missing")
    assert "echo" in r.names("task") and "lazy_sue_component" not in sys.modules
    task = r.get("task", "echo")()
    assert task.evaluate([1, 2]) == {"n": 2.0} and "lazy_sue_component" in sys.modules
    assert r.name_of(task) == ("task", "echo")
    with pytest.raises(UnknownComponentError, match=r"task 'broken' .* cannot be used: Attr"):
        r.get("task", "broken")
    with pytest.raises(ValueError, match="must read 'package.module:attr'"):
        r.register("task", "nocolon", "lazy_sue_component.Echo")


@needs("sue_baselines", "sue_tasks")
def test_listing_the_registry_imports_no_component_module():
    code = (
        "import sys\nfrom sue_framework import registry\n"
        "names = [registry.names(k) for k in ('method', 'encoder', 'task', 'dataset')]\n"
        "heavy = [m for m in ('torch', 'sklearn', 'scipy') if m in sys.modules]\n"
        "print(sum(map(len, names)), heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    count, heavy = out.stdout.split(" ", 1)
    assert int(count) > 30 and heavy.strip() == "[]", out.stderr[-500:]


def test_the_core_variants_listed_in_builtins_are_the_ones_that_exist():
    from sue_framework.builtins import BUILTINS
    from sue_framework.methods.variants import CORE_VARIANTS

    listed = {r.split("[")[1].rstrip("]") for _, _, r in BUILTINS if "CORE_VARIANTS[" in r}
    assert listed == set(CORE_VARIANTS)


def test_names_of_child_stages_become_objects_at_the_edge():
    """registry.build turns child stages given by name, left out, or named inside a child's
    own parameters into objects; the component never sees a name."""
    from sue_framework.components import ExactSpectral
    from sue_framework.components.graphs import LaplaceKNNGraph, PaperKNNGraph

    solver = registry.build(
        "solver",
        "concat",
        {"parts": ["exact", "pca"], "parts_params": [{"graph": "laplace_knn"}, None]},
    )
    assert isinstance(solver.parts[0], ExactSpectral)
    assert isinstance(solver.parts_params[0]["graph"], LaplaceKNNGraph)
    assert isinstance(registry.build("solver", "exact").graph, PaperKNNGraph)  # the default
    aligner = registry.build("aligner", "self_learning", {"base": "cca"})
    assert type(aligner.base).__name__ == "CCA"
    with pytest.raises(InputError, match="SelfLearning.base is the name 'cca'"):
        type(aligner)(base="cca").min_pairs()
