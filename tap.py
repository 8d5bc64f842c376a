"""Pipeline entry point (Pulumi.yaml ``main``): builds TapStack from the stack config and ENVIRONMENT_SUFFIX."""

import sys
from pathlib import Path

# The program shares the payment request schema with the Lambda package in functions/; make it
# importable however the dependencies were installed (editable install, requirements.txt, pipeline).
sys.path.insert(0, str(Path(__file__).resolve().parent / "functions"))

from lib.program import main  # pylint: disable=wrong-import-position

main()
