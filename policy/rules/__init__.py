"""Every rule of the pack, in a stable order: the specification's, security controls, DR parity."""

from __future__ import annotations

from policy.model import Rule
from policy.rules import dr, security, spec

ALL_RULES: tuple[Rule, ...] = (*spec.RULES, *security.RULES, *dr.RULES)
