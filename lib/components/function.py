"""PaymentFunction: the payment validation Lambda of one region. Both regions get the same artifact,
runtime, handler, memory, timeout, architecture and environment keys; only region-bound values differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.iam import service_trust_policy
from lib.naming import Namer

FUNCTION_SOURCE = Path(__file__).resolve().parents[2] / "functions" / "payment_validator"
HANDLER = "payment_validator.handler.lambda_handler"
RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
METRICS_NAMESPACE = "Payments"


def execution_role_name(namer: Namer, region: str) -> str:
    """The payment function's role in ``region``; the fingerprint key's policy names it in advance."""
    return namer.regional("validator", region)


@dataclasses.dataclass(frozen=True)
class FunctionCode:
    """The deployment artifact, built once and shared by both regions."""

    archive: pulumi.AssetArchive
    sha256: str


def function_code(source: Path = FUNCTION_SOURCE, *packages: Path) -> FunctionCode:
    """Every ``.py`` file of the package (and of ``packages``, each under its own name), in a stable order,
    and a hash over their names and bytes.
    """
    digest = hashlib.sha256()
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for package in (source, *packages):
        files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
        if not files:
            raise FileNotFoundError(f"no function code under {package}")
        for path in files:
            name = f"{package.name}/{path.relative_to(package).as_posix()}"
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
            assets[name] = pulumi.FileAsset(str(path))
    return FunctionCode(archive=pulumi.AssetArchive(assets), sha256=digest.hexdigest())


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentFunctionArgs:
    """One region's function and what it may touch."""

    region: str
    namer: Namer
    code: FunctionCode
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    table_name: pulumi.Input[str]
    receipts_bucket: pulumi.Input[str]
    receipts_bucket_arn: pulumi.Input[str]
    audit_bucket: pulumi.Input[str]
    audit_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    fingerprint_key_arn: pulumi.Input[str]
    database_endpoint: pulumi.Input[str]
    database_port: int
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    memory_mb: int
    timeout_seconds: int
    max_amount_minor: int
    approval_limit_minor: int
    idempotency_ttl_seconds: int
    log_retention_days: int
    provider: aws.Provider
    global_provider: aws.Provider
    execution_role: ExecutionRole


def execution_policy(
    *,
    region: str,
    table_arn: str,
    receipts_bucket_arn: str,
    audit_bucket_arn: str,
    kms_key_arn: str,
    fingerprint_key_arn: str,
    log_group_arn: str,
) -> dict[str, Any]:
    """Only what the function calls, on its region's resources. X-Ray takes no resource-level
    permissions, so that statement names actions but not resources. The VPC network-interface
    permissions are a policy of their own (``network_interface_policy``), with another lifetime.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            },
            {
                # No DeleteItem: the function never deletes (a delete replicates to the other region
                # and, under last writer wins, could erase what that region settled). A transaction
                # is authorised item by item with these same actions (AWS: "Using IAM with DynamoDB
                # transactions"). Query reads one key's partition, on the table only, not its index.
                "Sid": "RecordTransactions",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                "Resource": [table_arn],
            },
            {
                "Sid": "WriteReceiptsAndAudit",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{receipts_bucket_arn}/receipts/*", f"{audit_bucket_arn}/decisions/*"],
            },
            {
                # SSE-KMS uploads (under S3 Bucket Keys) need a data key, only through S3.
                "Sid": "EncryptUploads",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey"],
                "Resource": [kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
            {
                # The environment (encrypted with this key) and the table's key are decrypted on the
                # function's behalf; nothing else may use the role to decrypt.
                "Sid": "DecryptThroughServices",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [kms_key_arn],
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [f"lambda.{region}.amazonaws.com", f"dynamodb.{region}.amazonaws.com"]
                    }
                },
            },
            {
                "Sid": "FingerprintCards",
                "Effect": "Allow",
                "Action": ["kms:GenerateMac"],
                "Resource": [fingerprint_key_arn],
            },
            {
                "Sid": "Tracing",
                "Effect": "Allow",
                "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "Resource": ["*"],
            },
        ],
    }


def network_interface_policy(*, region: str, account_id: str, partition: str) -> dict[str, Any]:
    """What Lambda needs, as the function's execution role, to create and release the function's
    network interfaces in the VPC. The describe calls take no resource-level permissions; the writes are
    limited to the function's region and account (they touch interfaces, subnets and security groups
    there). It must not name the subnets or the security group: they depend on it (see ExecutionRole),
    so that a destroy deletes them while Lambda can still release its interfaces.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DescribeVpcNetworking",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": ["*"],
            },
            {
                "Sid": "ManageVpcNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": [f"arn:{partition}:ec2:{region}:{account_id}:*"],
            },
        ],
    }


LAMBDA_TRUST_POLICY = service_trust_policy("lambda.amazonaws.com")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExecutionRoleArgs:
    """The region's function role. ``previous_parent`` is the URN of the component that held the
    role before it had a component of its own (an alias keeps the role from being replaced).
    """

    region: str
    namer: Namer
    global_provider: aws.Provider
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    previous_parent: pulumi.Input[str] | None = None


class ExecutionRole(pulumi.ComponentResource):
    """The payment function's execution role and its network-interface permissions, built before the
    region's network so that the private subnets and the application security group can depend on
    them. A destroy then deletes the subnets and the group before those permissions: Lambda releases
    a deleted function's network interfaces with the execution role's permissions, asynchronously,
    and without them the subnet and group deletions wait on interfaces that are never released
    (pulumi-aws#2642; terraform-provider-aws waits for such interfaces in ec2/vpc_subnet.go
    ``deleteLingeringENIs``).
    """

    role: aws.iam.Role
    network_policy: aws.iam.RolePolicy

    def __init__(self, name: str, args: ExecutionRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:compute:ExecutionRole", name, None, opts)
        region, namer = args.region, args.namer
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        aliases = [pulumi.Alias(parent=args.previous_parent)] if args.previous_parent is not None else None
        self.role = aws.iam.Role(
            f"{region}-payment-validator-role",
            name=execution_role_name(namer, region),
            description=f"Execution role of {namer.plain('payment-validator')} in {region}",
            assume_role_policy=LAMBDA_TRUST_POLICY,
            max_session_duration=3600,
            opts=pulumi.ResourceOptions.merge(iam, pulumi.ResourceOptions(aliases=aliases)),
        )
        self.network_policy = aws.iam.RolePolicy(
            f"{region}-payment-validator-network",
            name=namer.name("validator-network"),
            role=self.role.id,
            policy=pulumi.Output.all(args.account_id, args.partition).apply(
                lambda v: json.dumps(network_interface_policy(region=region, account_id=v[0], partition=v[1]))
            ),
            opts=iam,
        )
        self.register_outputs({"roleArn": self.role.arn})


class PaymentFunction(pulumi.ComponentResource):
    """The function, its log group and its execution role."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PaymentFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:compute:PaymentFunction", name, None, opts)
        region, namer = args.region, args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        function_name = namer.plain("payment-validator")
        log_group = aws.cloudwatch.LogGroup(
            f"{region}-payment-validator-log",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        iam = pulumi.ResourceOptions(parent=self, provider=args.global_provider)
        role = args.execution_role.role
        table_arn = pulumi.Output.concat(
            "arn:", args.partition, ":dynamodb:", region, ":", args.account_id, ":table/", args.table_name
        )
        policy = pulumi.Output.all(
            table_arn,
            args.receipts_bucket_arn,
            args.audit_bucket_arn,
            args.kms_key_arn,
            args.fingerprint_key_arn,
            log_group.arn,
        ).apply(
            lambda arns: json.dumps(
                execution_policy(
                    region=region,
                    table_arn=arns[0],
                    receipts_bucket_arn=arns[1],
                    audit_bucket_arn=arns[2],
                    kms_key_arn=arns[3],
                    fingerprint_key_arn=arns[4],
                    log_group_arn=arns[5],
                )
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{region}-payment-validator-policy", name=namer.name("validator"), role=role.id, policy=policy, opts=iam
        )
        function = aws.lambda_.Function(
            f"{region}-payment-validator",
            name=function_name,
            description="Validates, decides and records payments; reports the region's health",
            role=role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            code=args.code.archive,
            architectures=[ARCHITECTURE],
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            kms_key_arn=args.kms_key_arn,
            tracing_config={"mode": "Active"},
            vpc_config={"subnet_ids": list(args.subnet_ids), "security_group_ids": [args.security_group_id]},
            environment={
                "variables": {
                    "TABLE_NAME": args.table_name,
                    "RECEIPTS_BUCKET": args.receipts_bucket,
                    "AUDIT_BUCKET": args.audit_bucket,
                    "DB_ENDPOINT": args.database_endpoint,
                    "DB_PORT": str(args.database_port),
                    "FINGERPRINT_KEY_ID": args.fingerprint_key_arn,
                    "MAX_AMOUNT_MINOR": str(args.max_amount_minor),
                    "APPROVAL_LIMIT_MINOR": str(args.approval_limit_minor),
                    "IDEMPOTENCY_TTL_SECONDS": str(args.idempotency_ttl_seconds),
                    "METRICS_NAMESPACE": METRICS_NAMESPACE,
                }
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags={"Name": function_name, "CodeSha256": args.code.sha256},
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(depends_on=[log_group, role_policy, args.execution_role.network_policy]),
            ),
        )
        self.function_name = function.name
        self.function_arn = function.arn
        self.invoke_arn = function.invoke_arn
        self.register_outputs({"functionName": self.function_name, "functionArn": self.function_arn})
