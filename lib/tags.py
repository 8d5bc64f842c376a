"""The one tag set every resource carries."""

from __future__ import annotations

from collections.abc import Mapping

from lib.regions import RegionRole

ENVIRONMENT_TAG = "Environment"
REGION_TAG = "Region"
DR_ROLE_TAG = "DR-Role"
RESERVED_TAG_KEYS: frozenset[str] = frozenset({ENVIRONMENT_TAG, REGION_TAG, DR_ROLE_TAG})
GLOBAL_REGION_TAG_VALUE = "global"


def stack_tags(
    *, environment_suffix: str, region: str | None, role: RegionRole, extra: Mapping[str, str]
) -> dict[str, str]:
    """Tags for one provider; ``region`` is None for the provider of global services (IAM, Route 53).

    The required tags are applied last so that project tags can never override them.
    """
    tags = dict(extra)
    tags[ENVIRONMENT_TAG] = environment_suffix
    tags[REGION_TAG] = region if region is not None else GLOBAL_REGION_TAG_VALUE
    tags[DR_ROLE_TAG] = role.value
    return tags
