"""The pack as ``pulumi preview --policy-pack policy`` loads it: every rule of ``policy.rules``.

Pulumi's policy host runs this file with the pack's folder first on ``sys.path``; the repository root
is added so that the rules import as the package ``drctl plan`` also uses. The environment suffix
comes from ENVIRONMENT_SUFFIX (as for ``tap.py``) or the stack's ``TapStack:environmentSuffix``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.pack import serve  # pylint: disable=wrong-import-position

serve(os.environ)
