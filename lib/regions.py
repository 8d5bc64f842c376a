"""Region vocabulary: the AWS regions a stack may use, and the role each plays in the pair."""

from __future__ import annotations

import enum
import re

# Commercial regions that offer Aurora global databases, DynamoDB global tables and S3 replication.
# Validation against a list (rather than a pattern) catches typos such as "us-east1" before any
# resource is registered; a region AWS adds later only needs a line here.
KNOWN_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

_REGION_SHAPE = re.compile(r"^(?P<area>[a-z]{2})-(?P<direction>[a-z]+)-(?P<number>\d+)$")


class RegionRole(enum.StrEnum):
    """The part a region plays. Roles swap on failover; the resources of a region never move."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    GLOBAL = "global"


def region_code(region: str) -> str:
    """Short, stable code for a region used inside physical names: ``us-east-1`` -> ``use1``.

    Names that live in a global namespace (IAM roles, S3 buckets) need the region in them so the two
    regional copies do not collide; the short form keeps them inside AWS length limits.
    """
    match = _REGION_SHAPE.match(region)
    if match is None:
        raise ValueError(f"'{region}' is not an AWS region name")
    direction = match["direction"]
    # "northeast" -> "ne", "southeast" -> "se", "central" -> "c", "east" -> "e".
    initials = "".join(part[0] for part in re.findall(r"north|south|east|west|central", direction))
    return f"{match['area']}{initials or direction[0]}{match['number']}"


# Route 53 publishes HealthCheckStatus only in us-east-1 (an AWS constant, not a choice of ours):
# alarms on health checks, and the topic they notify, must live there.
ROUTE53_METRICS_REGION = "us-east-1"
