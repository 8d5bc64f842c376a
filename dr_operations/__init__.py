"""The disaster-recovery operations of the payments stack, as plain boto3 code.

No pulumi import and no command-line code: ``drctl`` runs these steps from an operator's machine and the
regional watcher runs the very same steps in a Lambda. Every AWS call goes through ``dr_operations.aws.Aws``
(timeouts, dry run, request ids, unreachable regions); every step is named after the runbook step it
replaces and returns what it saw, so the CLI, the automation and the audit record speak the same words.
"""
