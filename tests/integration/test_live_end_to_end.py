"""End to end, as a client and an operator see a deployment: a signed payment through the API name is
recorded in the other region within the lag the watchers measure, and Route 53 answers with the primary.

With the checks of the other modules (both regions' ``/health`` answer 200, the lag alarms are in OK, both
dashboards exist) these are what a deployment must pass before it is trusted. moto can do none of them: it
runs no function, replicates nothing and answers no DNS.
"""

from __future__ import annotations

import datetime
import time
import uuid

import pytest

from dr_operations.aws import Aws
from dr_operations.names import MEASURED_REPLICATION_LAG, NAMESPACE
from dr_operations.outputs import StackOutputs, parse_outputs
from dr_operations.probes import SystemResolver
from dr_operations.traffic import ROUTE53, read_dns_view
from tests.integration.api_client import payment_body, request
from tests.integration.target import LiveTarget, needs_aws

pytestmark = pytest.mark.live

# How far back the watchers' measurements are read: each publishes one a minute.
MEASURED_LAG_WINDOW = datetime.timedelta(minutes=15)
POLL_SECONDS = 0.25
# Added to the measured lag: the watcher's own resolution (0.25 s for DynamoDB, 1 s for S3, README
# "Automatic database failover"), this test's poll interval and its round trips to the other region from
# wherever it runs.
ALLOWANCE_SECONDS = {"DynamoDB": 0.25 + POLL_SECONDS + 1.0, "S3": 1.0 + POLL_SECONDS + 1.0}


def region_behind_the_name(stack: StackOutputs) -> str:
    """The region whose API domain the API name resolves to, through this machine's resolver (what the
    request below connects to).
    """
    resolver = SystemResolver()
    assert stack.api_domain_name is not None
    addresses = resolver.addresses(stack.api_domain_name)
    regions = [
        region
        for region, resources in stack.regions.items()
        if resources.api_domain_target and addresses & resolver.addresses(resources.api_domain_target)
    ]
    assert len(regions) == 1, f"{stack.api_domain_name} resolves to {sorted(addresses)}: the API domain of {regions}"
    return regions[0]


def measured_lag_seconds(live: LiveTarget, region: str, peer: str, store: str) -> float:
    """The largest replication lag ``region``'s watcher measured to ``peer`` for ``store`` lately, in seconds."""
    now = datetime.datetime.now(datetime.UTC)
    datapoints = live.client("cloudwatch", region).get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=MEASURED_REPLICATION_LAG,
        Dimensions=[
            {"Name": "Region", "Value": region},
            {"Name": "Peer", "Value": peer},
            {"Name": "Store", "Value": store},
        ],
        StartTime=now - MEASURED_LAG_WINDOW,
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not datapoints:
        pytest.fail(
            f"the watcher of {region} published no {MEASURED_REPLICATION_LAG} for {store} in {MEASURED_LAG_WINDOW}"
        )
    return max(float(d["Maximum"]) for d in datapoints) / 1000


@needs_aws("moto runs no function behind the API, replicates nothing and answers no DNS")
def test_live_signed_payment_through_the_api_name_lands_in_the_other_region(live: LiveTarget) -> None:
    stack = parse_outputs(live.outputs, str(live.outputs_path))
    if stack.api_domain_name is None:
        pytest.skip("no custom domain configured (domainName): there is no API name to pay through")
    region = region_behind_the_name(stack)
    other = stack.other(region)
    bounds = {
        store: measured_lag_seconds(live, region, other, store) + allowance
        for store, allowance in ALLOWANCE_SECONDS.items()
    }
    url = f"{live.outputs['apiUrl'].rstrip('/')}/payments"
    status, body = request(
        url,
        "POST",
        payment_body(),
        {"Idempotency-Key": f"live-e2e-{uuid.uuid4().hex[:20]}"},
        (live.credentials(), region),
    )
    written = time.monotonic()
    assert status == 201, f"POST {url} signed for {region}: {status} {body}"
    assert body["region"] == region, f"{url} resolved to {region} but {body['region']} answered"
    transaction = body["transaction_id"]
    table, bucket = live.client("dynamodb", other), live.client("s3", other)
    arrived: dict[str, float] = {}

    def arrived_now(store: str) -> bool:
        if store == "DynamoDB":
            key = {"pk": {"S": f"TXN#{transaction}"}, "sk": {"S": "TXN"}}
            return "Item" in table.get_item(TableName=stack.table_name, Key=key, ConsistentRead=True)
        try:
            bucket.head_object(Bucket=stack.region(other).receipts_bucket, Key=f"receipts/{transaction}.json")
        except bucket.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return False
            raise
        return True

    deadline = written + max(bounds.values())
    while len(arrived) < len(bounds) and time.monotonic() < deadline:
        for store in bounds.keys() - arrived.keys():
            if arrived_now(store):
                arrived[store] = time.monotonic() - written
        time.sleep(POLL_SECONDS)
    late = {
        store: f"{'not seen' if store not in arrived else f'{arrived[store]:.2f} s'} (bound {bound:.2f} s)"
        for store, bound in bounds.items()
        if arrived.get(store, float("inf")) > bound
    }
    assert not late, f"payment {transaction} written in {region} did not reach {other} within the measured lag: {late}"


@needs_aws("moto has no TestDNSAnswer and serves no DNS for the hosted zone")
def test_live_route53_answers_with_the_primary(live: LiveTarget) -> None:
    stack = parse_outputs(live.outputs, str(live.outputs_path))
    if stack.api_domain_name is None:
        pytest.skip("no custom domain configured (domainName): Route 53 routes nothing for this stack")
    # Route 53's API is served from us-east-1; the operations library calls it under the label "global".
    aws = Aws(lambda service, region: live.client(service, "us-east-1" if region == ROUTE53 else region))
    view = read_dns_view(aws, stack, SystemResolver())
    assert view is not None
    assert view.error is None, f"{view.name}: {view.source} did not answer: {view.error}"
    assert view.region == live.outputs["primaryRegion"], (
        f"{view.name} answers {list(view.addresses)} ({view.source}): region {view.region}, not the primary"
    )
