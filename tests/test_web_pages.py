"""The pages over plain HTTP: logins and their cookies, CSRF, who may act on what, and what the buyer is told."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from meshfab.api.app import create_app
from meshfab.domain.principals import Principal
from meshfab.services import dashboard, orders, scheduling
from meshfab.services.keys import create_key
from meshfab.services.platform import Platform
from meshfab.store.tables import PromiseRow
from meshfab.web.common import HERE
from tests.conftest import Keys

SHIRT = {"opt.fabric": "polyester", "opt.size": "M", "opt.colour": "white", "opt.print": "screen"}
OPERATOR = Principal.parse("operator")


@pytest.fixture
def web(demo: Platform) -> Iterator[TestClient]:
    demo.settings.schedule_seconds = 1.0
    demo.settings.replan_seconds = 1.0
    with TestClient(create_app(demo), raise_server_exceptions=True, base_url="http://testserver") as client:
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _login(web: TestClient, area: str, key: str) -> str:
    answer = web.post(f"/{area}/login", data={"key": key}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = web.get(f"/{area}")
    assert page.status_code == 200
    return _csrf(page.text)


def _order(web: TestClient, country: str = "GB") -> str:
    """Place an order through the storefront's own forms; returns the order page's path."""
    product = web.get("/shop/teamkit/team-shirt")
    live = web.post("/shop/teamkit/team-shirt/configure", data={**SHIRT, "quantity": "12", "country": country})
    offer = re.search(r'name="offer_id" value="([^"]+)"', live.text)
    assert offer, live.text
    form = {
        **SHIRT,
        "quantity": "12",
        "country": country,
        "csrf": _csrf(product.text),
        "offer_id": offer.group(1),
        "ship_name": "Ada Lovelace",
        "buyer_email": "ada@example.com",
        "ship_line1": "12 St James Square",
        "ship_city": "London",
        "ship_postal_code": "SW1Y 4JH",
    }
    placed = web.post("/shop/teamkit/team-shirt/order", data=form, follow_redirects=False)
    assert placed.status_code == 303, placed.text
    return placed.headers["location"]


def test_front_page_links_every_shop_and_the_work_areas(web: TestClient) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert 'href="/shop/teamkit"' in page.text and 'href="/factory"' in page.text and 'href="/ops"' in page.text


def test_assets_are_served_locally(web: TestClient) -> None:
    for path in ("/static/vendor/htmx.min.js", "/static/vendor/uPlot.iife.min.js", "/static/geo/world-110m.svg"):
        assert web.get(path).status_code == 200, path
    for template in (HERE / "templates").glob("*.html"):
        assert not re.search(r'(src|href)="(https?:)?//', template.read_text()), template.name


def test_unknown_shop_is_404(web: TestClient) -> None:
    assert web.get("/shop/nobody").status_code == 404


def test_impossible_values_are_disabled_with_their_reason(web: TestClient) -> None:
    live = web.post("/shop/teamkit/team-shirt/configure", data={"opt.fabric": "cotton", "quantity": "5"})
    sublimation = re.search(r'<label[^>]*title="([^"]*)"[^>]*>\s*<input[^>]*value="sublimation"[^>]*>', live.text)
    assert sublimation, "sublimation should be offered as a disabled value"
    assert "Sublimation only works on polyester." in sublimation.group(1)
    assert re.search(r'value="sublimation"\s+disabled', live.text)
    assert not re.search(r'value="screen"\s+disabled', live.text)
    assert "Delivery offers" not in live.text  # incomplete: no quote yet


def test_an_invalid_configuration_shows_the_violated_rule(web: TestClient) -> None:
    wrong = {**SHIRT, "opt.fabric": "cotton", "opt.print": "sublimation"}
    live = web.post("/shop/teamkit/team-shirt/configure", data=wrong)
    assert live.status_code == 200
    assert "This combination cannot be made" in live.text
    assert 'data-rule="sublimation-on-polyester"' in live.text
    assert "offer_id" not in live.text
    malformed = web.post("/shop/teamkit/team-shirt/configure", data={"opt.number:number": "seven"})
    assert "expected a number" in malformed.text


def test_a_complete_configuration_gets_offers_and_an_order(web: TestClient, demo: Platform) -> None:
    path = _order(web)
    page = web.get(path)
    assert page.status_code == 200
    assert "allocated" in page.text and "Parcel tracking" in page.text and "Delivered by" in page.text
    assert len(orders.list_orders(demo, OPERATOR, cursor=None, limit=10)[0]) == 1
    other_shop = path.replace("/shop/teamkit/", "/shop/giftmarket/")
    assert web.get(other_shop).status_code == 404


def test_placing_without_the_shop_token_is_refused(web: TestClient, demo: Platform) -> None:
    answer = web.post("/shop/teamkit/team-shirt/order", data={**SHIRT, "offer_id": "x", "csrf": "forged"})
    assert answer.status_code == 403
    assert orders.list_orders(demo, OPERATOR, cursor=None, limit=10)[0] == []


def test_bad_delivery_details_are_named(web: TestClient) -> None:
    product = web.get("/shop/teamkit/team-shirt")
    answer = web.post(
        "/shop/teamkit/team-shirt/order",
        data={"csrf": _csrf(product.text), "offer_id": "00000000-0000-0000-0000-000000000000", "country": "GB"},
    )
    assert answer.status_code == 422
    assert "email" in answer.text


def test_bad_login_is_refused_and_sets_no_cookie(web: TestClient, keys: Keys) -> None:
    answer = web.post("/factory/login", data={"key": "mf_nope_nope"}, follow_redirects=False)
    assert answer.status_code == 401 and "not a valid factory key" in answer.text
    assert "set-cookie" not in answer.headers
    operator_key = keys("operator")["Authorization"].split()[1]
    assert web.post("/factory/login", data={"key": operator_key}).status_code == 401  # wrong role
    assert web.get("/factory", follow_redirects=False).headers["location"] == "/factory/login"


def test_login_cookie_is_httponly_strict_and_scoped(web: TestClient, keys: Keys) -> None:
    key = keys("factory:yiwu-01")["Authorization"].split()[1]
    answer = web.post("/factory/login", data={"key": key}, follow_redirects=False)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/factory" in cookie
    assert "secure" not in cookie  # plain http here; https requests get Secure
    https = {"x-forwarded-proto": "https"}
    secure = web.post("/factory/login", data={"key": key}, headers=https, follow_redirects=False)
    assert "secure" in secure.headers["set-cookie"].lower()


def test_factory_sees_its_lots_and_reports_progress(web: TestClient, demo: Platform) -> None:
    _order(web)
    factory_id = orders.list_orders(demo, OPERATOR, cursor=None, limit=1)[0][0].lines[0].factory_id
    csrf = _login(web, "factory", create_key(demo, Principal.parse(f"factory:{factory_id}")))
    scheduled = web.post("/factory/schedule", data={"csrf": csrf}, follow_redirects=False)
    assert "Scheduled" in unquote(scheduled.headers["location"]) and "wait" not in scheduled.headers["location"]
    work = dashboard.factory_work(demo, OPERATOR, str(factory_id))
    assert work and all(w["status"] == "released" for w in work)
    portal = web.get("/factory").text
    assert f'id="wo-{work[0]["id"]}"' in portal and "Capacity calendar" in portal and "Trust score" in portal
    forged = web.post(f"/factory/work-orders/{work[0]['id']}/start", data={"csrf": "forged"})
    assert forged.status_code == 403
    card = web.post(f"/factory/work-orders/{work[0]['id']}/start", data={"csrf": csrf}, headers={"HX-Request": "1"})
    assert card.status_code == 200 and "started" in card.text and "Finish" in card.text
    again = web.post(f"/factory/work-orders/{work[0]['id']}/start", data={"csrf": csrf}, headers={"HX-Request": "1"})
    assert again.status_code == 409


def test_a_schedule_that_leaves_work_for_later_says_so(
    web: TestClient, demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        _order(web)
    lines = [o.lines[0] for o in orders.list_orders(demo, OPERATOR, cursor=None, limit=2)[0]]
    assert lines[0].factory_id == lines[1].factory_id
    csrf = _login(web, "factory", create_key(demo, Principal.parse(f"factory:{lines[0].factory_id}")))
    now = demo.clock.now()
    with demo.uow() as uow:  # one line ships now, the other in three weeks: beyond a one-minute window
        uow.session.execute(update(PromiseRow).values(ship_at=now + timedelta(days=21)))
        uow.session.execute(update(PromiseRow).where(PromiseRow.line_id == lines[0].id).values(ship_at=now))
        uow.commit()
    monkeypatch.setattr(demo.settings, "schedule_release_days", 1 / (24 * 60))
    scheduled = web.post("/factory/schedule", data={"csrf": csrf}, follow_redirects=False)
    assert "1 later line(s) wait for a later schedule" in unquote(scheduled.headers["location"])


def test_a_factory_cannot_act_on_another_factorys_work(web: TestClient, demo: Platform) -> None:
    _order(web)
    owner = str(orders.list_orders(demo, OPERATOR, cursor=None, limit=1)[0][0].lines[0].factory_id)
    scheduling.schedule_factory(demo, owner, time_limit=1)
    work_id = dashboard.factory_work(demo, OPERATOR, owner)[0]["id"]
    other = next(f["id"] for f in dashboard.factory_loads(demo, OPERATOR) if f["id"] != owner)
    csrf = _login(web, "factory", create_key(demo, Principal.parse(f"factory:{other}")))
    answer = web.post(f"/factory/work-orders/{work_id}/start", data={"csrf": csrf})
    assert answer.status_code == 404
    assert dashboard.factory_work(demo, OPERATOR, owner)[0]["status"] == "released"


def test_closing_a_day_flags_promises_and_replans(web: TestClient, demo: Platform) -> None:
    _order(web)
    factory_id = str(orders.list_orders(demo, OPERATOR, cursor=None, limit=1)[0][0].lines[0].factory_id)
    csrf = _login(web, "factory", create_key(demo, Principal.parse(f"factory:{factory_id}")))
    day = dashboard.capacity_calendar(demo, OPERATOR, factory_id, demo.clock.now().date())["days"][1]
    answer = web.post("/factory/close-day", data={"csrf": csrf, "day": day.isoformat()})
    assert answer.status_code == 200
    assert f"Closed {day.isoformat()}" in answer.text and "re-planned" in answer.text
    assert ">closed<" in answer.text
    past = web.post("/factory/close-day", data={"csrf": csrf, "day": "2020-01-01"})
    assert past.status_code == 422 and "the day is past" in past.text


def test_operator_dashboard_and_event_feed(web: TestClient, demo: Platform, keys: Keys) -> None:
    assert web.get("/ops", follow_redirects=False).status_code == 303
    factory_key = keys("factory:yiwu-01")["Authorization"].split()[1]
    assert web.post("/ops/login", data={"key": factory_key}).status_code == 401
    csrf = _login(web, "ops", keys("operator")["Authorization"].split()[1])
    before = web.get("/ops/kpis").text
    assert re.search(r'id="kpi-orders">0<', before)
    _order(web)
    assert re.search(r'id="kpi-orders">1<', web.get("/ops/kpis").text)
    page = web.get("/ops").text
    assert "order.placed" in page and "world-110m.svg" in page and "chart-data" in page
    events = dashboard.events_since(demo, OPERATOR, 0)
    assert [e.type for e in events][-1] == "order.placed"
    assert dashboard.events_since(demo, OPERATOR, events[-1].id) == []
    replan = web.post("/ops/replan", data={"csrf": csrf})
    assert replan.status_code == 200 and "Re-plan" in replan.text
    assert web.post("/ops/replan", data={"csrf": "forged"}).status_code == 403


def test_dashboard_reads_are_for_the_operator_only(demo: Platform) -> None:
    from meshfab.domain.errors import Forbidden, NotFound

    factory = Principal.parse("factory:yiwu-01")
    with pytest.raises(Forbidden):
        dashboard.kpis(demo, factory)
    with pytest.raises(Forbidden):
        dashboard.events_since(demo, Principal.parse("merchant:teamkit"), 0)
    with pytest.raises(NotFound):
        dashboard.factory_work(demo, factory, "shaoxing-01")
    trust = dashboard.trust_record(demo, factory, "yiwu-01")
    assert trust.observations == 0 and trust.score == trust.stored
