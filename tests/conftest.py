"""What every test shares: botocore's service models, parsed once per test process.

moto's ``mock_aws()`` drops boto3's default session each time it starts, and every new botocore session
parses the service models again (about 20 ms per model, seconds per fault-injection test). The models are
read-only data, and one botocore session already hands the same parsed dicts to all of its clients, so
sharing the loader across sessions changes no answer.
"""

from __future__ import annotations

import functools

import botocore.session
from botocore.loaders import Loader, create_loader


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> Loader:
    return create_loader(search_path_string)


botocore.session.create_loader = _shared_loader
