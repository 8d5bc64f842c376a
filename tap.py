"""Pipeline entry point (Pulumi.yaml ``main``): builds TapStack from the stack config and ENVIRONMENT_SUFFIX."""

from lib.program import main

main()
