"""Repositories: translate between rows and domain objects, one class per aggregate.

They never commit; the unit of work does, so a use case that touches several aggregates stays atomic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Row, Select, TextClause, and_, bindparam, or_, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from meshfab.domain.catalog import Template
from meshfab.domain.factories import Calendar, Factory, FactoryStatus, Location, Workcenter
from meshfab.domain.geo import Address
from meshfab.domain.lanes import Lane
from meshfab.domain.merchants import Buyer, Channel, Merchant
from meshfab.domain.orders import LinePromise, Order, OrderLine, OrderStatus, PromiseStatus, steps_to
from meshfab.domain.work import OPEN_STATUSES, WorkOrder, WorkOrderStatus
from meshfab.store.tables import (
    FactoryRow,
    LaneRow,
    MerchantRow,
    OrderLineRow,
    OrderRow,
    PromiseRow,
    TemplateRow,
    WorkOrderRow,
)

KEYS_PER_STATEMENT = 5000
"""Keys one `IN (...)` carries at most: a statement holds at most 65,535 parameters."""

RowT = TypeVar("RowT")
KeyT = TypeVar("KeyT")


def in_chunks(keys: Iterable[KeyT]) -> Iterator[list[KeyT]]:
    """The distinct keys, a statement's worth at a time, for an `IN (...)` that may be asked of any number."""
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), KEYS_PER_STATEMENT):
        yield wanted[start : start + KEYS_PER_STATEMENT]


def rows_by_key(
    session: Session,
    model: type[RowT],
    column: InstrumentedAttribute[KeyT],
    keys: Iterable[KeyT],
    *,
    for_update: bool = False,
) -> dict[KeyT, RowT]:
    """The rows whose `column` is one of `keys`, by key, in a statement per few thousand keys.

    The batch form of `session.get` in a loop: the identity map holds rows only weakly, so a row read earlier
    and no longer referenced costs a SELECT of its own each time it is wanted again. `for_update` locks the
    rows in key order, chunk after chunk: the one order every writer of the table locks in, so two batches
    never wait on each other in a cycle.
    """
    wanted = sorted(set(keys)) if for_update else keys  # type: ignore[type-var]
    found: dict[KeyT, RowT] = {}
    for chunk in in_chunks(wanted):
        query = select(model).where(column.in_(chunk))
        if for_update:
            query = query.order_by(column).with_for_update()
        found |= {getattr(row, column.key): row for row in session.scalars(query)}
    return found


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert plain rows in few statements, outside the ORM's per-object bookkeeping.

    For rows a use case writes once and does not read back: the unit of work's flush costs more per row than
    the SQL does. Pending ORM changes are flushed first, so foreign keys still find their rows. Up to
    `ONE_STATEMENT` rows go in one statement; more go in chunks of a power of two (at most `ROWS_PER_INSERT`),
    so that a bounded set of cached statements (`write_together`) serves every count."""
    for chunk in _statement_chunks(rows):
        write_together(session, (model, chunk))


def update_rows(session: Session, model: type[Any], key: str, rows: list[dict[str, Any]]) -> None:
    """Update rows by `key` in few statements, each row to its own values (every row names the same columns).

    The bulk form of changing loaded ORM rows: a planner that changes thousands of rows it read as plain
    values writes them the way `insert_rows` inserts, in chunks of a bounded set of cached statements."""
    for chunk in _statement_chunks(rows):
        write_together(session, Updates(model, key, chunk))


def _statement_chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    start = 0
    while start < len(rows):
        left = len(rows) - start
        size = left if left <= ONE_STATEMENT else min(ROWS_PER_INSERT, 1 << left.bit_length() - 1)
        yield rows[start : start + size]
        start += size


ONE_STATEMENT = 64
ROWS_PER_INSERT = 256


Rows = tuple[type[Any], list[dict[str, Any]]]
"""Rows for one table: its mapped class, and the rows as column-name dicts with the same keys."""


@dataclass(frozen=True)
class Updates:
    """Stored rows to change rather than insert: each row names the row it changes by `key` (a column of the
    table) and gives the new values of its other columns."""

    model: type[Any]
    key: str
    rows: list[dict[str, Any]]


def write_together(session: Session, *parts: Rows | Updates) -> None:
    """Write the rows of several tables in one statement, the first parts as data-modifying CTEs.

    One round trip instead of one per table: placing an order inserts into five tables and marks its offers
    used. The parts run on one snapshot and foreign keys are checked at the end of the statement, so an order
    and its lines may travel together. The statement is built once per shape (tables, row counts, columns)
    with named parameters, so SQLAlchemy compiles it once: a multi-row VALUES of literal values would be
    compiled again on every call."""
    written = [_part(p) for p in parts]
    written = [w for w in written if w[3]]
    shape = tuple((kind, model, key, len(rows), tuple(rows[0])) for kind, model, key, rows in written)
    statement = _TOGETHER.get(shape)
    if statement is None:
        statement = _TOGETHER[shape] = _together(shape)
    params = {
        f"w{i}_{j}_{column}": value
        for i, (_, _, _, rows) in enumerate(written)
        for j, row in enumerate(rows)
        for column, value in row.items()
    }
    session.execute(statement, params)


def _part(part: Rows | Updates) -> tuple[str, type[Any], str, list[dict[str, Any]]]:
    if isinstance(part, Updates):
        return "update", part.model, part.key, part.rows
    return "insert", part[0], "", part[1]


_Shape = tuple[tuple[str, type[Any], str, int, tuple[str, ...]], ...]
_TOGETHER: dict[_Shape, TextClause] = {}


def _together(shape: _Shape) -> TextClause:
    """The statement's text, with typed parameters (JSON columns are serialised as they would be by the ORM).

    Written as text because SQLAlchemy compiles a multi-row VALUES anew on every execution, and the compiling
    cost more than the round trips it saves; a text clause is compiled once and cached."""
    parts, params = [], []
    for i, (kind, model, key, count, columns) in enumerate(shape):
        table = model.__table__
        rows = ", ".join("(" + ", ".join(f":w{i}_{j}_{c}" for c in columns) + ")" for j in range(count))
        if kind == "update":
            changed = ", ".join(f"{c} = v.{c}" for c in columns if c != key)
            parts.append(
                f"UPDATE {table.name} SET {changed} FROM (VALUES {rows}) AS v({', '.join(columns)}) "
                f"WHERE {table.name}.{key} = v.{key}"
            )
        else:
            parts.append(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {rows}")
        params += [bindparam(f"w{i}_{j}_{c}", type_=table.c[c].type) for j in range(count) for c in columns]
    *first, last = parts
    ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(first))
    return text(f"WITH {ctes} {last}" if ctes else last).bindparams(*params)


_PARSED: dict[str, tuple[str, Template]] = {}
"""Parsed templates by key and document digest, process-wide: parsing a document and compiling its rules costs
far more than a configure call, and a template object that stays the same lets the configurator reuse its
compiled form."""


_STAMPED: dict[str, tuple[tuple[int, datetime], Template]] = {}
"""Parsed templates by key and (version, updated_at), process-wide: `put` raises the version of a changed
template and a template stored anew gets a new `updated_at`, so a known stamp spares reading the document."""


def _template(row: TemplateRow) -> Template:
    digest = hashlib.sha256(json.dumps(row.document, sort_keys=True).encode()).hexdigest()
    cached = _PARSED.get(row.key)
    if cached is not None and cached[0] == digest:
        return cached[1]
    template = Template.model_validate(row.document)
    _PARSED[row.key] = (digest, template)
    return template


def _upsert(session: Session, model: type[Any], key: str, values: dict[str, Any]) -> bool:
    """Insert the row or update it in place (locked); True when it is new."""
    row = session.get(model, key, with_for_update=True)
    if row is None:
        session.add(model(**values))
        return True
    for name, value in values.items():
        setattr(row, name, value)
    return False


_TEMPLATE_STAMP = select(TemplateRow.version, TemplateRow.updated_at).where(TemplateRow.key == bindparam("key"))
"""Built once: every quote reads its template's stamp, and building the statement cost more than running it."""


class TemplateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[str, Template | None] = {}
        """templates read in this unit of work: a planner asks for the same few once per line it reads"""

    def get(self, key: str) -> Template | None:
        if key not in self._known:
            self._known[key] = self._read(key)
        return self._known[key]

    def _read(self, key: str) -> Template | None:
        """The stored template; its document is read and checked only when its version stamp is new to us."""
        stamp = self.session.execute(_TEMPLATE_STAMP, {"key": key}).first()
        if stamp is None:
            return None
        known = _STAMPED.get(key)
        if known is not None and known[0] == tuple(stamp):
            return known[1]
        row = self.session.get(TemplateRow, key)
        if row is None:
            return None
        template = _template(row)
        _STAMPED[key] = ((row.version, row.updated_at), template)
        return template

    def list(self) -> list[Template]:
        return [_template(r) for r in self.session.scalars(select(TemplateRow).order_by(TemplateRow.key))]

    def put(self, template: Template) -> bool:
        """Insert or replace; returns True when the template is new."""
        self._known.pop(template.key, None)
        document = template.model_dump(mode="json", exclude_none=True)
        row = self.session.get(TemplateRow, template.key, with_for_update=True)
        if row is None:
            self.session.add(
                TemplateRow(key=template.key, name=template.name, currency=template.currency, document=document)
            )
            return True
        row.name, row.currency, row.document, row.version = (
            template.name,
            template.currency,
            document,
            row.version + 1,
        )
        return False


KeptT = TypeVar("KeptT")


def _kept(
    cache: dict[str, tuple[tuple[Any, ...], KeptT]], key: str, values: tuple[Any, ...], build: Callable[[], KeptT]
) -> KeptT:
    """The domain object of a row, built again only when the row's values changed.

    Process-wide, for the few rows read on every order (factories, merchants, lanes): validating them into
    domain objects cost more than reading them. Comparing the values keeps the object as fresh as the read."""
    known = cache.get(key)
    if known is None or known[0] != values:
        known = cache[key] = (values, build())
    return known[1]


_FACTORIES: dict[str, tuple[tuple[Any, ...], Factory]] = {}


def factory_from_row(row: FactoryRow | Row[Any]) -> Factory:
    """The domain factory of a row (an ORM row or a plain one with the same columns)."""
    values = tuple(getattr(row, c) for c in _FACTORY_COLUMNS)
    return _kept(_FACTORIES, row.id, values, lambda: _factory(row))


_FACTORY_COLUMNS = tuple(c.key for c in FactoryRow.__table__.columns if c.key not in ("id", "updated_at"))


def _factory(row: FactoryRow | Row[Any]) -> Factory:
    return Factory(
        id=row.id,
        name=row.name,
        location=Location(lat=row.lat, lon=row.lon, region=row.region, country=row.country, timezone=row.timezone),
        workcenters=[Workcenter.model_validate(w) for w in row.workcenters],
        calendar=Calendar.model_validate(row.calendar),
        currency=row.currency,
        cost_per_minute=row.cost_per_minute,
        min_lot=row.min_lot,
        max_lot=row.max_lot,
        status=FactoryStatus(row.status),
        trust_score=row.trust_score,
    )


class FactoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, factory_id: str, *, for_update: bool = False) -> Factory | None:
        row = self.session.get(FactoryRow, factory_id, with_for_update=for_update)
        return None if row is None else factory_from_row(row)

    def list(self, *, region: str | None = None) -> list[Factory]:
        query = select(FactoryRow).order_by(FactoryRow.id)
        if region:
            query = query.where(FactoryRow.region == region)
        return [factory_from_row(r) for r in self.session.scalars(query)]

    def put(self, factory: Factory) -> bool:
        values: dict[str, Any] = {
            "name": factory.name,
            "region": factory.location.region,
            "country": factory.location.country,
            "timezone": factory.location.timezone,
            "lat": factory.location.lat,
            "lon": factory.location.lon,
            "status": factory.status.value,
            "trust_score": factory.trust_score,
            "currency": factory.currency,
            "min_lot": factory.min_lot,
            "max_lot": factory.max_lot,
            "workcenters": [w.model_dump(mode="json") for w in factory.workcenters],
            "calendar": factory.calendar.model_dump(mode="json"),
            "cost_per_minute": dict(factory.cost_per_minute),
        }
        return _upsert(self.session, FactoryRow, factory.id, {"id": factory.id, **values})


class LaneRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, *, destination_country: str | None = None, origin_region: str | None = None) -> list[Lane]:
        """Lanes by id; `origin_region` lets a caller that ships from one factory read only that region's lanes
        (reading every lane of the mesh on each finished lot was a fifth of the floor's parcel time)."""
        lanes = LaneRow.__table__
        query = select(lanes).order_by(lanes.c.id)
        if destination_country:
            query = query.where(lanes.c.destination_country == destination_country)
        if origin_region:
            query = query.where(lanes.c.origin_region == origin_region)
        return [_lane(r) for r in self.session.execute(query)]

    def get(self, lane_id: str) -> Lane | None:
        row = self.session.execute(select(LaneRow.__table__).where(LaneRow.__table__.c.id == lane_id)).first()
        return None if row is None else _lane(row)

    def put(self, lane: Lane) -> bool:
        """Insert or update a lane's configuration; what was learnt of it (`learned_extra_hours`) stays."""
        return _upsert(self.session, LaneRow, lane.id, lane.model_dump(exclude={"learned_extra_hours"}))


_LANES: dict[str, tuple[tuple[Any, ...], Lane]] = {}


def _lane(row: Row[Any]) -> Lane:
    return _kept(
        _LANES, row.id, tuple(row), lambda: Lane.model_validate({c: getattr(row, c) for c in Lane.model_fields})
    )


_MERCHANT = select(MerchantRow.__table__).where(MerchantRow.__table__.c.id == bindparam("id"))
_MERCHANTS: dict[str, tuple[tuple[Any, ...], Merchant]] = {}


def _merchant(row: Row[Any]) -> Merchant:
    fields = Merchant.model_fields
    return _kept(_MERCHANTS, row.id, tuple(row), lambda: Merchant.model_validate({c: getattr(row, c) for c in fields}))


class MerchantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[str, Merchant | None] = {}
        """merchants read in this unit of work: making parcels asks once per parcel for the same few"""

    def get(self, merchant_id: str) -> Merchant | None:
        if merchant_id not in self._known:
            row = self.session.execute(_MERCHANT, {"id": merchant_id}).first()
            self._known[merchant_id] = None if row is None else _merchant(row)
        return self._known[merchant_id]

    def list(self) -> list[Merchant]:
        rows = self.session.scalars(select(MerchantRow).order_by(MerchantRow.id))
        return [Merchant.model_validate({c: getattr(r, c) for c in Merchant.model_fields}) for r in rows]

    def put(self, merchant: Merchant) -> bool:
        self._known.pop(merchant.id, None)
        return _upsert(self.session, MerchantRow, merchant.id, merchant.model_dump(mode="json"))


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: dict[UUID, OrderRow] = {}
        self._lines: dict[UUID, OrderLineRow] = {}
        """rows read in this unit of work, held so that `save` writes them without reading them again;
        reads still go to the database (`populate_existing`): holding rows must not make a read stale"""

    def add(self, order: Order, *with_rows: Rows | Updates) -> None:
        """The order and its lines, and any rows that belong with them (its promises, its reservations), in
        one statement (`write_together`): placing writes them once and never reads them back."""
        lines = [
            {
                "id": line.id,
                "order_id": order.id,
                "line_no": line.line_no,
                "template_key": line.template_key,
                "options": line.options,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "factory_id": line.factory_id,
            }
            for line in order.lines
        ]
        write_together(
            self.session,
            (OrderRow, [{"id": order.id, "created_at": order.created_at, **_order_columns(order)}]),
            (OrderLineRow, lines),
            *with_rows,
        )

    def get(self, order_id: UUID, *, for_update: bool = False) -> Order | None:
        row = self.session.get(OrderRow, order_id, with_for_update=for_update, populate_existing=True)
        if row is None:
            return None
        return self._to_domain([row])[0]

    def get_many(self, order_ids: Iterable[UUID], *, for_update: bool = False) -> list[Order]:
        """Several orders, by id, in three statements per few thousand; `for_update` locks them in id order,
        the order one `get` after another in sorted order would lock them in."""
        wanted = sorted(set(order_ids))
        orders: list[Order] = []
        for start in range(0, len(wanted), KEYS_PER_STATEMENT):
            query = select(OrderRow).where(OrderRow.id.in_(wanted[start : start + KEYS_PER_STATEMENT]))
            query = query.order_by(OrderRow.id).execution_options(populate_existing=True)
            orders += self._to_domain(list(self.session.scalars(query.with_for_update() if for_update else query)))
        return orders

    def save(self, order: Order) -> None:
        row = self._rows.get(order.id) or self.session.get(OrderRow, order.id)
        if row is None:
            raise LookupError(order.id)
        _fill_order_row(row, order)
        for line in order.lines:
            line_row = self._lines.get(line.id) or self.session.get(OrderLineRow, line.id)
            if line_row is not None:
                line_row.factory_id = line.factory_id

    def move_forward(
        self, order_ids: Iterable[UUID], target: OrderStatus, at: datetime, *, only_from: Iterable[OrderStatus]
    ) -> list[UUID]:
        """Walk orders in one of the `only_from` statuses forward to `target`, by their status alone.

        For the floor and the carriers, which move thousands of orders a day and need none of their lines or
        promises: the rows are locked in id order (as `get_many` locks them), every step joins the history,
        and one statement writes them all. Returns the orders moved."""
        wanted, allowed = sorted(set(order_ids)), {s.value for s in only_from}
        changes: list[dict[str, Any]] = []
        for start in range(0, len(wanted), KEYS_PER_STATEMENT):
            for order_id, status, history in self.session.execute(
                select(OrderRow.id, OrderRow.status, OrderRow.history)
                .where(OrderRow.id.in_(wanted[start : start + KEYS_PER_STATEMENT]))
                .order_by(OrderRow.id)
                .with_for_update()
            ):
                steps = steps_to(OrderStatus(status), target) if status in allowed else []
                if steps:
                    walked = [*history, *([step.value, at.isoformat()] for step in steps)]
                    changes.append({"key": order_id, "status": target.value, "updated_at": at, "history": walked})
        if changes:
            self.session.execute(_MOVE_FORWARD, changes)
        return [change["key"] for change in changes]

    def page(self, *, merchant_id: str | None, after: tuple[datetime, UUID] | None, limit: int) -> list[Order]:
        """Keyset pagination on (created_at, id): stable under concurrent inserts, unlike OFFSET."""
        query: Select[tuple[OrderRow]] = select(OrderRow)
        if merchant_id is not None:
            query = query.where(OrderRow.merchant_id == merchant_id)
        if after is not None:
            at, last_id = after
            query = query.where(or_(OrderRow.created_at < at, and_(OrderRow.created_at == at, OrderRow.id < last_id)))
        query = query.order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(limit)
        return self._to_domain(list(self.session.scalars(query)))

    def _to_domain(self, rows: list[OrderRow]) -> list[Order]:
        if not rows:
            return []
        self._rows |= {r.id: r for r in rows}
        line_rows = list(
            self.session.scalars(
                select(OrderLineRow)
                .where(OrderLineRow.order_id.in_([r.id for r in rows]))
                .order_by(OrderLineRow.line_no)
                .execution_options(populate_existing=True)  # fresh, as if no row were held
            )
        )
        self._lines |= {lr.id: lr for lr in line_rows}
        lines: dict[UUID, list[OrderLine]] = {r.id: [] for r in rows}
        promises = {
            p.line_id: LinePromise(p.delivery_by, p.ship_at, PromiseStatus(p.status), region, p.factory_id)
            for p, region in self.session.execute(
                select(PromiseRow, FactoryRow.region)
                .join(FactoryRow, FactoryRow.id == PromiseRow.factory_id)
                .where(PromiseRow.order_id.in_([r.id for r in rows]))
            )
        }
        for lr in line_rows:
            lines[lr.order_id].append(
                OrderLine(
                    id=lr.id,
                    line_no=lr.line_no,
                    template_key=lr.template_key,
                    options=lr.options,
                    quantity=lr.quantity,
                    unit_price=lr.unit_price,
                    factory_id=lr.factory_id,
                    promise=promises.get(lr.id),
                )
            )
        return [
            Order(
                id=r.id,
                merchant_id=r.merchant_id,
                channel=Channel(r.channel),
                buyer=Buyer.model_validate(r.buyer),
                ship_to=Address.model_validate(r.ship_to),
                currency=r.currency,
                lines=lines[r.id],
                created_at=r.created_at,
                status=OrderStatus(r.status),
                updated_at=r.updated_at,
                history=[(OrderStatus(s), datetime.fromisoformat(t)) for s, t in r.history],
            )
            for r in rows
        ]


def _order_columns(order: Order) -> dict[str, Any]:
    return {
        "merchant_id": order.merchant_id,
        "channel": order.channel.value,
        "status": order.status.value,
        "buyer": order.buyer.model_dump(mode="json"),
        "ship_to": order.ship_to.model_dump(mode="json"),
        "currency": order.currency,
        "total": order.total,
        "history": [[s.value, t.isoformat()] for s, t in order.history],
        "updated_at": order.updated_at or order.created_at,
    }


def _fill_order_row(row: OrderRow, order: Order) -> None:
    for name, value in _order_columns(order).items():
        setattr(row, name, value)


_ORDERS = OrderRow.__table__
_MOVE_FORWARD = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("key"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"), history=bindparam("history"))
)


class WorkOrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_lines(self, factory_id: str) -> set[str]:
        """Lines with a lot still to be made at the factory (released, started or a replacement): such a line is
        neither produced nor ready for a parcel. Open lots are few, whatever the factory's history."""
        statuses = [s.value for s in OPEN_STATUSES]
        query = select(WorkOrderRow.line_ids).where(
            WorkOrderRow.factory_id == factory_id, WorkOrderRow.status.in_(statuses)
        )
        return {line for lines in self.session.scalars(query) for line in lines}

    def for_factory(self, factory_id: str) -> list[WorkOrder]:
        rows = self.session.scalars(
            select(WorkOrderRow).where(WorkOrderRow.factory_id == factory_id).order_by(WorkOrderRow.due_at)
        )
        return [
            WorkOrder(
                id=r.id,
                factory_id=r.factory_id,
                capability=r.capability,
                setup_family=r.setup_family,
                line_ids=[UUID(x) for x in r.line_ids],
                quantity=r.quantity,
                due_at=r.due_at,
                status=WorkOrderStatus(r.status),
                scrap=r.scrap,
                lot_id=r.lot_id,
            )
            for r in rows
        ]
