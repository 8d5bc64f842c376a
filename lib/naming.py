"""One naming scheme: every physical name ends with the environment suffix."""

from __future__ import annotations

import dataclasses

from lib.regions import region_code


@dataclasses.dataclass(frozen=True, kw_only=True)
class Namer:
    """Builds physical names as ``<project>-<base>[-<region code>]-<suffix>``.

    The suffix comes last so that names sort by capability and every stack's resources can be found
    with one ``*-<suffix>`` pattern. Regional names carry the region, never the role: a failover
    swaps roles and must not rename (and so replace) anything.
    """

    project: str
    suffix: str

    def name(self, base: str) -> str:
        """Name of a resource that exists once per stack."""
        return f"{self.project}-{base}-{self.suffix}"

    def plain(self, base: str) -> str:
        """Name without the project prefix, for names a contract fixes (``payment-validator-<suffix>``)."""
        return f"{base}-{self.suffix}"

    def regional(self, base: str, region: str) -> str:
        """Name of a resource that exists once per region."""
        return f"{self.project}-{base}-{region_code(region)}-{self.suffix}"
