"""`sue serve`: the JSON endpoint answers what `search` answers, within its bounds; thumbnails
come only from rows whose item is an image file; 16 clients at once; the page works in a real
browser (type, see results, click one)."""

import importlib.util
import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sue_framework import InputError, UnknownComponentError, registry
from sue_framework.search.index import build_index, save_index
from sue_framework.search.query import search
from tests.conftest import latent_views

pytestmark = [
    pytest.mark.skipif(
        any(importlib.util.find_spec(m) is None for m in ("starlette", "uvicorn")),
        reason="needs starlette and uvicorn (pip install 'sue-framework[serve]')",
    ),
    pytest.mark.slow,  # a server on a port, and a browser
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from PIL import Image

    from sue_framework.search.serve import Searcher

    folder = tmp_path_factory.mktemp("serve")
    x, y = latent_views(n=1400, k=8)
    pairs = np.stack([np.arange(80)] * 2, 1)
    for name, width in (("m.sue", 6), ("other.sue", 5)):
        registry.get("method", "pair_cca")(out_dim=width, device="cpu").fit(
            (x[:1000], y[:1000], pairs)
        ).save(folder / name)
    items = [f"item {i}" for i in range(400)]
    for i in range(0, 400, 50):  # every 50th item is a picture
        items[i] = str(folder / f"pic{i}.png")
        Image.new("RGB", (40, 30), (i % 256, 90, 160)).save(items[i])
    save_index(build_index(folder / "m.sue", "y", y[1000:], items), folder / "c.sueidx")
    searcher = Searcher(folder / "c.sueidx", folder / "m.sue")
    server, port = _start(searcher)
    yield {"folder": folder, "x": x[1000:], "items": items, "port": port, "searcher": searcher}
    server.should_exit = True


def _start(searcher):
    import uvicorn

    from sue_framework.search.serve import make_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(searcher), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    return server, port


def _get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=30) as r:
            return r.status, r.headers.get("content-type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type"), e.read()


def _post(port, body: bytes):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/search", data=body,
                                 headers={"content-type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_endpoint_answers_what_search_answers(served):
    folder, x = served["folder"], served["x"]
    status, body = _post(served["port"], json.dumps({"rows": x[:1].tolist(), "k": 5}).encode())
    assert status == 200
    want = search(folder / "c.sueidx", folder / "m.sue", "x", rows=x[:1], k=5)[0]
    assert [h["row"] for h in body["results"]] == [h["row"] for h in want]
    status, _, raw = _get(served["port"], "api/search?item=item%207&k=3")
    found = json.loads(raw)
    assert status == 200 and found["from_item"] == "item 7"
    assert found["results"][0]["item"] == "item 7" and len(found["results"]) == 3
    # without an encoder, text finds an item by name
    status, _, raw = _get(served["port"], "api/search?text=ITEM%2013&k=2")
    assert status == 200 and json.loads(raw)["from_item"] == "item 13"


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("api/search?item=item%201&k=0", 400, "k must be an integer in [1, 100]"),
        ("api/search?item=item%201&k=101", 400, "k must be an integer in [1, 100]"),
        ("api/search?item=nope", 400, "no item 'nope'"),
        ("api/search?text=" + "a" * 1001, 400, "text must hold 1 to 1000 characters"),
        ("api/search", 400, "give exactly one of text, item or rows"),
        ("thumb/1", 404, "no image for that row"),  # a row whose item is not a picture
        ("thumb/99999", 404, "no image for that row"),
        ("thumb/..%2F..%2Fetc%2Fpasswd", 404, None),  # no path is ever taken from a request
    ],
)
def test_requests_outside_the_bounds_are_refused(served, path, status, message):
    got, _, raw = _get(served["port"], path)
    assert got == status
    if message:
        assert message in json.loads(raw)["error"]


def test_bodies_rows_and_thumbnails(served):
    port, x = served["port"], served["x"]
    status, body = _post(port, b"{" + b" " * (64 * 1024) + b"}")
    assert status == 413 and "at most 65536 bytes" in body["error"]
    status, body = _post(port, json.dumps({"rows": np.ones((1, 3)).tolist()}).encode())
    assert status == 400 and "fitted on rows of" in body["error"]
    status, body = _post(port, json.dumps({"rows": x[:101].tolist()}).encode())
    assert status == 400 and "1 to 100 rows" in body["error"]
    status, kind, raw = _get(port, "thumb/50")  # item 50 is a picture listed in the index
    assert status == 200 and kind == "image/png" and raw[:4] == b"\x89PNG"


def test_sixteen_clients_at_once_get_the_answers_one_gets_alone(served):
    port = served["port"]
    alone = {i: _get(port, f"api/search?item=item%20{i}&k=5")[2] for i in range(1, 17)}

    def client(i):
        return [_get(port, f"api/search?item=item%20{i}&k=5") for _ in range(5)]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(client, range(1, 17)))
    for i, got in zip(range(1, 17), answers, strict=True):
        assert all(status == 200 and raw == alone[i] for status, _, raw in got)


def test_a_server_refuses_another_model_and_a_missing_encoder(served):
    from sue_framework.search.serve import Searcher

    folder = served["folder"]
    with pytest.raises(InputError, match="made with another model"):
        Searcher(folder / "c.sueidx", folder / "other.sue")
    with pytest.raises(UnknownComponentError, match="no encoder named 'nope'"):
        Searcher(folder / "c.sueidx", folder / "m.sue", encoder="nope")


def _chromium():
    return next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)),
                None)  # fmt: skip


@pytest.mark.skipif(
    _chromium() is None or importlib.util.find_spec("playwright") is None,
    reason="needs headless Chromium (apt-get install chromium) and playwright",
)
def test_the_page_in_a_browser_type_a_query_see_results_click_one(served, tmp_path):
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=flags)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{served['port']}/")
        page.fill("#q", "item 7")
        page.press("#q", "Enter")
        page.wait_for_selector("li.hit")
        hits = page.locator("li.hit")
        assert hits.count() == 10 and hits.first.get_attribute("data-item") == "item 7"
        second = hits.nth(1).get_attribute("data-item")
        hits.nth(1).click()  # search from that result
        page.wait_for_function(
            "s => document.getElementById('status').textContent === 'like: ' + s", arg=second
        )
        assert page.locator("li.hit").first.get_attribute("data-item") == second
        page.fill("#q", "no such thing")
        page.press("#q", "Enter")
        page.wait_for_selector("#status.error")
        assert "no item matches" in page.inner_text("#status")
        # a result whose item is a picture shows its thumbnail, served by row
        page.fill("#q", served["items"][50])
        page.press("#q", "Enter")
        page.wait_for_selector("li.hit img")
        assert page.locator("li.hit img").first.get_attribute("src") == "thumb/50"
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()
    assert (tmp_path / "page.png").stat().st_size > 1000
