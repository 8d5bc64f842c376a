"""The payments stack's compliance pack: rules as plain functions over the Pulumi Policy SDK's arguments.

``policy.rules.ALL_RULES`` states each rule once; ``policy/__main__.py`` serves them to
``pulumi preview --policy-pack policy``; ``policy.offline`` evaluates them against a plan without the
Pulumi CLI (``drctl plan``).
"""
