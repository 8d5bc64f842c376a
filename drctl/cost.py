"""``drctl plan --cost``: a monthly estimate of the planned stack, per region and per service, with the
share that the disaster-recovery half adds over a single-region stack.

Prices come from ``drctl/prices.toml`` (dated, each with its source); usage comes from a ``Load``
(payments a month, payload size, log volume, stated defaults) and from the plan itself (health-check
intervals, function memory, schedules). Every resource of the plan is priced by a rule in
``drctl.cost_rules``, listed there as free with the reason, or reported as not priced with the reason:
nothing is left out silently. ``drctl.cost_rules.estimate`` makes an ``Estimate`` from a plan.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from drctl.harness import GLOBAL

PRICES_PATH = Path(__file__).with_name("prices.toml")
# AWS prices hourly resources over a 730-hour month (365 days x 24 h / 12).
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GB = 1024**3
CROSS_REGION = "cross-region"
COST_BLOCK = "cost"


class PriceTableError(Exception):
    """``prices.toml`` is malformed; the message names the entry."""


class NotPriced(Exception):  # noqa: N818 - a reason, raised by a pricing rule, not a failure
    """Raised by a pricing rule when a resource cannot be priced; ``str()`` says why and what to add."""


@dataclasses.dataclass(frozen=True)
class Source:
    """A pricing page a price comes from."""

    key: str
    title: str
    url: str


@dataclasses.dataclass(frozen=True)
class Price:
    """One list price: ``usd`` buys ``per`` units of ``unit``."""

    key: str
    usd: float
    per: float
    unit: str
    source: str
    checked: str | None
    assumed: str | None

    @property
    def unit_usd(self) -> float:
        """The price of one unit."""
        return self.usd / self.per


@dataclasses.dataclass(frozen=True)
class PriceTable:
    """The dated price table: per-region lists, global prices and inter-region transfer rates."""

    as_of: str
    currency: str
    sources: Mapping[str, Source]
    regions: Mapping[str, Mapping[str, Price]]
    region_names: Mapping[str, str]
    global_prices: Mapping[str, Price]
    transfer: Mapping[frozenset[str], Price]

    def price(self, region: str, key: str) -> Price:
        """The price ``key`` in ``region`` (or of a global service when ``region`` is ``global``).

        Raises ``NotPriced`` naming what to add to ``drctl/prices.toml``.
        """
        if region == GLOBAL:
            if key not in self.global_prices:
                raise NotPriced(f"no global price '{key}' in drctl/prices.toml: add it under [global]")
            return self.global_prices[key]
        if region not in self.regions:
            priced = ", ".join(sorted(self.regions))
            raise NotPriced(
                f"no prices for {region} in drctl/prices.toml (priced regions: {priced}): add "
                f'[regions."{region}"] with a price list from the AWS pricing pages for that region'
            )
        prices = self.regions[region]
        if key not in prices:
            raise NotPriced(f"no price '{key}' for {region} in drctl/prices.toml: add it to that region's list")
        return prices[key]

    def transfer_price(self, source: str, destination: str) -> Price:
        """Per-GB transfer from ``source`` to ``destination``; ``NotPriced`` for an unknown pair."""
        pair = frozenset((source, destination))
        if pair not in self.transfer:
            name = "|".join(sorted(pair))
            raise NotPriced(f'no transfer rate for {name} in drctl/prices.toml: add [transfer."{name}"]')
        return self.transfer[pair]


def _price(key: str, entry: Any, sources: Mapping[str, Source], where: str) -> Price:
    if not isinstance(entry, dict):
        raise PriceTableError(f"{where}.{key}: must be a table {{usd, per, unit, source, checked|assumed}}")
    missing = {"usd", "unit", "source"} - set(entry)
    if missing:
        raise PriceTableError(f"{where}.{key}: missing {', '.join(sorted(missing))}")
    if entry["source"] not in sources:
        raise PriceTableError(f"{where}.{key}: source '{entry['source']}' is not under [sources]")
    if ("checked" in entry) == ("assumed" in entry):
        raise PriceTableError(f"{where}.{key}: give exactly one of 'checked' (what confirmed it) or 'assumed' (why)")
    return Price(
        key=key,
        usd=float(entry["usd"]),
        per=float(entry.get("per", 1)),
        unit=str(entry["unit"]),
        source=str(entry["source"]),
        checked=entry.get("checked"),
        assumed=entry.get("assumed"),
    )


def load_prices(path: Path | None = None) -> PriceTable:
    """Read and check the price table (default ``drctl/prices.toml``); raise ``PriceTableError``
    naming a malformed entry.
    """
    path = path or PRICES_PATH
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PriceTableError(f"{path}: {error}") from None
    table = document.get("table") or {}
    sources = {
        key: Source(key=key, title=str(value.get("title", key)), url=str(value.get("url", "")))
        for key, value in (document.get("sources") or {}).items()
    }
    lists = {
        name: {key: _price(key, entry, sources, f"lists.{name}") for key, entry in entries.items()}
        for name, entries in (document.get("lists") or {}).items()
    }
    regions: dict[str, Mapping[str, Price]] = {}
    names: dict[str, str] = {}
    for region, entry in (document.get("regions") or {}).items():
        if entry.get("list") not in lists:
            raise PriceTableError(f"regions.{region}: list '{entry.get('list')}' is not under [lists]")
        regions[region] = lists[entry["list"]]
        names[region] = str(entry.get("name", region))
    transfer = {}
    for pair, entry in (document.get("transfer") or {}).items():
        ends = pair.split("|")
        if len(ends) != 2:
            raise PriceTableError(f"transfer.{pair}: name a pair as 'region-a|region-b'")
        transfer[frozenset(ends)] = _price(pair, entry, sources, "transfer")
    return PriceTable(
        as_of=str(table.get("as_of", "unknown")),
        currency=str(table.get("currency", "USD")),
        sources=sources,
        regions=regions,
        region_names=names,
        global_prices={k: _price(k, v, sources, "global") for k, v in (document.get("global") or {}).items()},
        transfer=transfer,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Load:
    """What the stack is assumed to carry in a month. The first fields are ``drctl plan`` options; the
    rest are fixed assumptions, each printed with the estimate.
    """

    payments_per_month: int = 1_000_000
    # Average size of a payment request; receipts, audit records and table items are about as large.
    payload_bytes: int = 1_024
    # Bytes each function invocation writes to CloudWatch Logs (its JSON line and Lambda's
    # START/END/REPORT lines).
    log_bytes_per_invocation: int = 500
    # Average Serverless v2 capacity of each Aurora instance; None means twice the configured minimum.
    aurora_acu: float | None = None
    # Months of payments kept in the table and the buckets when storage is priced (it grows until the
    # buckets' retention ends; transactions are never deleted).
    months_of_data: int = 12

    # Route 53 checks from 16 redundant locations (Route 53 Developer Guide, "Monitoring the latency
    # between health checkers and your endpoint"); each is taken to probe once per interval.
    route53_checkers: int = 16
    # One access-log line of the stage's format (ten fields).
    access_log_bytes: int = 350
    # Average durations (assumed, not measured): a payment makes six sequential AWS calls; /health
    # runs its three checks in parallel with 0.5 s timeouts; other functions run for 1 s.
    payment_ms: int = 200
    health_ms: int = 50
    other_function_ms: int = 1_000
    other_function_invocations: int = 100_000
    # DynamoDB per payment, from functions/payment_validator/service.py: a strongly consistent read of
    # the idempotency record; writes: the claim, the PENDING transaction and its index entry, a
    # two-item transaction (2 WRU per item) and the index update. Replicated: the four item writes,
    # the two index updates, and the idempotency record's expiry.
    dynamodb_reads_per_payment: float = 1.0
    dynamodb_writes_per_payment: float = 8.0
    dynamodb_replicated_writes_per_payment: float = 7.0
    # /health reads one item, eventually consistent.
    dynamodb_reads_per_probe: float = 0.5
    # Per stored payment: the transaction item and its index copy (projection ALL), 100 bytes of
    # DynamoDB overhead each.
    dynamodb_item_overhead_bytes: int = 100
    # Aurora: the payment path never writes it (the function only probes its endpoint); whatever
    # else writes is taken as 5 write I/Os a second, and 10 GB stored per cluster.
    aurora_write_ios_per_second: float = 5.0
    aurora_storage_gb: float = 10.0
    # A write I/O carries at most a 4 KiB page; replication traffic is priced at that upper bound.
    aurora_bytes_per_write_io: int = 4_096
    # Private subnets reach S3 and DynamoDB through gateway endpoints and KMS through an interface
    # endpoint: the NAT carries only miscellaneous egress.
    nat_gb_per_month: float = 1.0
    # A KMS request and its answer through the interface endpoint, with TLS framing.
    kms_request_bytes: int = 2_048
    # VPC flow-log records: a /health probe opens a new TCP connection to the database (two flows,
    # both directions, seen at two interfaces); 120 bytes a record; plus 50 MB of everything else.
    flow_log_bytes_per_probe: int = 480
    flow_log_base_gb: float = 0.05
    # The database logs each connection (log_connections): two lines of about 150 bytes per probe.
    database_log_bytes_per_probe: int = 300
    # A WAF log record (JSON: the request's headers, URI and the result of every rule group), assumed.
    waf_log_bytes: int = 1_500
    unknown_log_gb: float = 1.0
    # Alarm state changes published to a DR topic a month, each delivered to every subscription.
    topic_publishes_per_month: int = 100
    # X-Ray's default sampling rule: the first request each second and 5 % of the rest.
    xray_reservoir_per_second: float = 1.0
    xray_rate: float = 0.05

    def acu_for(self, minimum: float) -> float:
        """The assumed average capacity of an instance whose floor is ``minimum`` ACU."""
        return self.aurora_acu if self.aurora_acu is not None else 2 * minimum


@dataclasses.dataclass(frozen=True)
class Line:
    """One priced item of the estimate."""

    region: str
    service: str
    item: str
    resource: str
    resource_type: str
    quantity: float
    unit: str
    unit_usd: float
    price_key: str
    assumed: bool
    dr: bool

    @property
    def monthly_usd(self) -> float:
        """Quantity times unit price."""
        return self.quantity * self.unit_usd


@dataclasses.dataclass(frozen=True)
class Unpriced:
    """A resource (or a part of one) the estimate does not price, and why."""

    resource: str
    resource_type: str
    region: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The monthly estimate of a plan."""

    as_of: str
    currency: str
    primary: str
    secondary: str
    load: Load
    lines: tuple[Line, ...]
    unpriced: tuple[Unpriced, ...]
    free: tuple[tuple[str, int, str], ...]
    assumptions: tuple[str, ...]
    sources: tuple[Source, ...]

    @property
    def total(self) -> float:
        """Monthly total of every priced line."""
        return sum(line.monthly_usd for line in self.lines)

    @property
    def dr_total(self) -> float:
        """What the disaster-recovery half adds: the secondary region, cross-region replication and the
        failover machinery (health checks, replication and health alarms).
        """
        return sum(line.monthly_usd for line in self.lines if line.dr)

    @property
    def single_region_total(self) -> float:
        """The same stack in the primary region alone."""
        return self.total - self.dr_total

    def by(self, attribute: str) -> dict[str, float]:
        """Monthly totals grouped by a ``Line`` attribute (``region`` or ``service``), largest first."""
        totals: dict[str, float] = {}
        for line in self.lines:
            key = str(getattr(line, attribute))
            totals[key] = totals.get(key, 0.0) + line.monthly_usd
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    def to_json(self) -> dict[str, Any]:
        """The ``cost`` key of ``plan.json``: figures in USD per month, rounded to cents."""
        return {
            "as_of": self.as_of,
            "currency": self.currency,
            "period": "month",
            "total": round(self.total, 2),
            "single_region": round(self.single_region_total, 2),
            "disaster_recovery": round(self.dr_total, 2),
            "disaster_recovery_share_of_single_region": (
                round(self.dr_total / self.single_region_total, 4) if self.single_region_total else None
            ),
            "by_region": {k: round(v, 2) for k, v in self.by("region").items()},
            "by_service": {k: round(v, 2) for k, v in self.by("service").items()},
            "load": dataclasses.asdict(self.load),
            "assumptions": list(self.assumptions),
            "lines": [
                {
                    "region": line.region,
                    "service": line.service,
                    "item": line.item,
                    "resource": line.resource,
                    "type": line.resource_type,
                    "quantity": round(line.quantity, 4),
                    "unit": line.unit,
                    "unit_usd": line.unit_usd,
                    "monthly_usd": round(line.monthly_usd, 4),
                    "price": line.price_key,
                    "assumed": line.assumed,
                    "disaster_recovery": line.dr,
                }
                for line in self.lines
            ],
            "not_priced": [dataclasses.asdict(u) for u in self.unpriced],
            "free": [{"type": t, "count": n, "reason": r} for t, n, r in self.free],
            "sources": [dataclasses.asdict(s) for s in self.sources],
        }


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclasses.dataclass(frozen=True)
class _Row:
    """Lines of one region and service that bill the same thing, added up."""

    item: str
    count: int
    quantity: float
    unit: str
    monthly_usd: float
    assumed: bool
    dr: bool


def _rows(lines: Iterable[Line]) -> list[_Row]:
    groups: dict[tuple[str, str, str, bool, bool], list[Line]] = {}
    for line in lines:
        groups.setdefault((line.item, line.unit, line.price_key, line.assumed, line.dr), []).append(line)
    rows = [
        _Row(
            item=item,
            count=len(group),
            quantity=sum(g.quantity for g in group),
            unit=unit,
            monthly_usd=sum(g.monthly_usd for g in group),
            assumed=assumed,
            dr=dr,
        )
        for (item, unit, _, assumed, dr), group in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.monthly_usd, r.item))


def _by_region_and_service(result: Estimate) -> Iterator[tuple[str, str, list[Line]]]:
    for region in result.by("region"):
        services: dict[str, list[Line]] = {}
        for line in result.lines:
            if line.region == region:
                services.setdefault(line.service, []).append(line)
        for service, items in sorted(services.items(), key=lambda s: (-sum(i.monthly_usd for i in s[1]), s[0])):
            yield region, service, items


def _share(result: Estimate) -> str:
    if not result.single_region_total:
        return ""
    return f" (+{100 * result.dr_total / result.single_region_total:.0f} %)"


def render(result: Estimate) -> str:
    """The estimate as ``drctl plan --cost`` prints it."""
    lines = [
        f"monthly cost estimate ({result.currency}, list prices as of {result.as_of}, on-demand, no free tier)",
        f"  total {_money(result.total)}: single-region stack {_money(result.single_region_total)} "
        f"+ disaster recovery {_money(result.dr_total)}{_share(result)}",
        "  by region: " + ", ".join(f"{k} {_money(v)}" for k, v in result.by("region").items()),
        "  by service: " + ", ".join(f"{k} {_money(v)}" for k, v in result.by("service").items()),
    ]
    region = None
    for where, service, items in _by_region_and_service(result):
        if where != region:
            region = where
            lines += ["", f"{where}: {_money(result.by('region')[where])}"]
        lines.append(f"  {service}: {_money(sum(i.monthly_usd for i in items))}")
        for row in _rows(items):
            count = f"{row.count} x " if row.count > 1 else ""
            flags = (" (assumed)" if row.assumed else "") + (" [DR]" if row.dr else "")
            lines.append(
                f"    {_money(row.monthly_usd):>9}  {count}{row.item}: {_quantity(row.quantity)} {row.unit}{flags}"
            )
    if result.unpriced:
        lines += ["", "not priced:"]
        lines += [f"  {u.resource} ({u.resource_type}, {u.region}): {u.reason}" for u in result.unpriced]
    lines += ["", "free (no charge of their own):"]
    lines += [f"  {n} x {t}: {reason}" for t, n, reason in result.free]
    lines += ["", "assumptions:"]
    lines += [f"  - {a}" for a in result.assumptions]
    lines += ["", "sources:"] + [f"  {s.title}: {s.url}" for s in result.sources]
    lines.append(
        "[DR] is what the disaster-recovery half adds; (assumed) marks a price or quantity not confirmed "
        "(drctl/prices.toml says which and why)"
    )
    return "\n".join(lines)


def render_markdown(result: Estimate) -> str:
    """The estimate as a Markdown table per region and service (the README's cost section)."""
    out = [
        f"Monthly estimate in {result.currency} at list prices of {result.as_of} (on-demand, no free tier) for "
        f"{result.load.payments_per_month:,} payments a month of {result.load.payload_bytes:,} bytes: "
        f"**{_money(result.total)}**, of which the single-region stack is {_money(result.single_region_total)} "
        f"and disaster recovery adds {_money(result.dr_total)}{_share(result)}.",
        "",
        "| region | service | monthly | of which DR |",
        "|---|---|---:|---:|",
    ]
    for region, service, items in _by_region_and_service(result):
        total = sum(i.monthly_usd for i in items)
        dr = sum(i.monthly_usd for i in items if i.dr)
        out.append(f"| {region} | {service} | {_money(total)} | {_money(dr)} |")
    out.append(f"| **total** | | **{_money(result.total)}** | **{_money(result.dr_total)}** |")
    if result.unpriced:
        out += ["", "Not priced: " + "; ".join(f"`{u.resource}` ({u.reason})" for u in result.unpriced)]
    out += ["", "Assumptions:", ""] + [f"- {a}" for a in result.assumptions]
    return "\n".join(out)


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The load options of ``drctl plan`` (used by ``--cost`` and by the ``cost`` key of ``--json``)."""
    defaults = Load()
    group = parser.add_argument_group("cost estimate (--cost, and the 'cost' key of --json)")
    group.add_argument("--cost", action="store_true", help="print the monthly cost estimate")
    group.add_argument(
        "--cost-markdown",
        type=Path,
        metavar="PATH",
        help="write the estimate as Markdown to PATH (between drctl:cost markers if PATH has them)",
    )
    group.add_argument(
        "--payments-per-month",
        type=_positive_int,
        default=defaults.payments_per_month,
        metavar="N",
        help=f"payments a month, all served by the primary region (default {defaults.payments_per_month:,})",
    )
    group.add_argument(
        "--payload-bytes",
        type=_positive_int,
        default=defaults.payload_bytes,
        metavar="BYTES",
        help="average payment request; receipts, audit records and items are as large "
        f"(default {defaults.payload_bytes})",
    )
    group.add_argument(
        "--log-bytes-per-invocation",
        type=_positive_int,
        default=defaults.log_bytes_per_invocation,
        metavar="BYTES",
        help=f"log volume of one function invocation (default {defaults.log_bytes_per_invocation})",
    )
    group.add_argument(
        "--aurora-acu",
        type=_acu,
        default=None,
        metavar="ACU",
        help="assumed average capacity of each Aurora instance (default: twice auroraMinCapacity)",
    )
    group.add_argument(
        "--months-of-data",
        type=_positive_int,
        default=defaults.months_of_data,
        metavar="N",
        help=f"months of payments stored when storage is priced (default {defaults.months_of_data})",
    )


def load_from_args(args: argparse.Namespace) -> Load:
    """The ``Load`` given by ``drctl plan``'s options."""
    return Load(
        payments_per_month=args.payments_per_month,
        payload_bytes=args.payload_bytes,
        log_bytes_per_invocation=args.log_bytes_per_invocation,
        aurora_acu=args.aurora_acu,
        months_of_data=args.months_of_data,
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _acu(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of ACU") from None
    if not 0 <= value <= 256:
        raise argparse.ArgumentTypeError(f"{value:g} ACU is outside Serverless v2's 0-256")
    return value


def sources_of(prices: PriceTable, keys: Iterable[str]) -> tuple[Source, ...]:
    """The sources of the prices named by ``keys``, in source-table order."""
    wanted = {p.source for p in _all_prices(prices) if p.key in set(keys)}
    return tuple(source for key, source in prices.sources.items() if key in wanted)


def _all_prices(prices: PriceTable) -> list[Price]:
    found = [p for region in prices.regions.values() for p in region.values()]
    return found + list(prices.global_prices.values()) + list(prices.transfer.values())
