"""The whole flow in a real Chromium: a buyer orders, the factory makes it, the operator watches it happen.

The app runs under uvicorn in a thread against the test database (the demo world). Chromium is Debian's
`/usr/bin/chromium` when present, else Playwright's own; `make test` installs one of them first, so these tests
are never skipped. Screenshots of every page land in `test-artifacts/`, and axe-core checks each page.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from meshfab.api.app import create_app
from meshfab.domain.principals import Principal
from meshfab.services import dashboard, orders
from meshfab.services.keys import create_key
from meshfab.services.platform import Platform

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
OPERATOR = Principal.parse("operator")


@pytest.fixture
def server(demo: Platform) -> Iterator[str]:
    demo.settings.schedule_seconds = 1.0
    demo.settings.replan_seconds = 1.0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(demo), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while thread.is_alive() and not app_server.started:
        started.wait(0.05)
    assert app_server.started, "the app did not start"
    yield f"http://127.0.0.1:{port}"
    app_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    args = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    path = str(CHROMIUM) if CHROMIUM.exists() else None
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(headless=True, executable_path=path, args=args)
        yield chromium
        chromium.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core on the page at rest: the serious and critical findings (none allowed).

    A poll swapping a fragment in mid-check would show axe half-faded text (a contrast finding that no user
    sees), so the check waits until htmx has no request, swap or settle in progress.
    """
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def log_in(page: Page, base: str, area: str, key: str) -> None:
    page.goto(f"{base}/{area}/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/{area}")


def test_buyer_factory_and_operator_in_a_real_browser(server: str, browser: Browser, demo: Platform) -> None:
    ops = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(ops, server, "ops", create_key(demo, OPERATOR))
    expect(ops.locator("#kpi-orders")).to_have_text("0")

    buyer = browser.new_page(viewport={"width": 1280, "height": 900})
    buyer.goto(f"{server}/shop/teamkit")
    assert serious_violations(buyer) == []
    buyer.get_by_role("link", name="Custom team shirt").click()
    buyer.get_by_label("Combed cotton").check()
    sublimation = buyer.locator('input[name="opt.print"][value="sublimation"]')
    expect(sublimation).to_be_disabled()
    reason = buyer.locator("label", has=sublimation)
    expect(reason).to_have_attribute("title", re.compile("Sublimation only works on polyester"))
    sublimation.click(force=True)  # a disabled value really cannot be picked
    expect(sublimation).not_to_be_checked()
    buyer.get_by_label("Breathable polyester").check()
    expect(sublimation).to_be_enabled()
    for label in ("M", "White", "Screen print"):
        buyer.get_by_label(label, exact=True).check()
        expect(buyer.get_by_label(label, exact=True)).to_be_checked()
    buyer.get_by_label("Country").select_option("GB")
    offers = buyer.locator("#offers .offer")
    expect(offers.first).to_be_visible()
    expect(offers.first).to_contain_text("delivered by")
    buyer.get_by_label("Full name").fill("Ada Lovelace")
    buyer.get_by_label("E-mail").fill("ada@example.com")
    buyer.get_by_label("Street and number").fill("12 St James Square")
    buyer.get_by_label("Postcode").fill("SW1Y 4JH")
    buyer.get_by_label("City").fill("London")
    shot(buyer, "shop-product")
    assert serious_violations(buyer) == []
    buyer.get_by_role("button", name="Place order").click()
    buyer.wait_for_url(re.compile(r"/shop/teamkit/orders/"))
    expect(buyer.locator("#order-status")).to_have_text("allocated")
    shot(buyer, "shop-order")
    assert serious_violations(buyer) == []

    expect(ops.locator("#kpi-orders")).to_have_text("1")
    expect(ops.locator("#feed")).to_contain_text("order.placed")

    placed = orders.list_orders(demo, OPERATOR, cursor=None, limit=1)[0][0]
    factory_id = str(placed.lines[0].factory_id)
    floor = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(floor, server, "factory", create_key(demo, Principal.parse(f"factory:{factory_id}")))
    floor.get_by_role("button", name="Schedule my new orders").click()
    floor.wait_for_url(re.compile(r"/factory\?notice="))
    work = dashboard.factory_work(demo, OPERATOR, factory_id)
    assert work, "the new order should be released as a lot"
    card = floor.locator(f"#wo-{work[0]['id']}")
    expect(card).to_contain_text("released")
    shot(floor, "factory-phone")
    assert serious_violations(floor) == []
    card.get_by_role("button", name="Start").tap()
    expect(card).to_contain_text("started")
    card.get_by_role("button", name="Finish").tap()
    expect(card).to_contain_text("finished")
    assert dashboard.factory_work(demo, OPERATOR, factory_id)[0]["status"] == "finished"

    expect(ops.locator("#feed")).to_contain_text("work_order.finish")
    shot(ops, "ops-dashboard")
    assert serious_violations(ops) == []

    desk = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(desk, server, "factory", create_key(demo, Principal.parse(f"factory:{factory_id}")))
    shot(desk, "factory-desktop")
    ops.set_viewport_size(PHONE)
    shot(ops, "ops-phone")
    for page in (ops, buyer, floor, desk):
        page.close()


def test_login_pages_refuse_bad_keys_and_pass_axe(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{server}/factory/login")
    page.get_by_label("API key").fill("mf_not_a_key")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid factory key")
    shot(page, "factory-login")
    assert serious_violations(page) == []
    page.goto(f"{server}/ops")
    expect(page).to_have_url(f"{server}/ops/login")
    page.close()
