"""DrNotifications: one region's DR topic, who may publish to it, who reads it, and the failover events
that reach it. CloudWatch alarms can only notify a topic in their own region, hence one per region.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from lib.naming import Namer

# RDS events of a global database changing writers (category "global-failover"): switchover started /
# completed / failed, failover started / completed / failed. Matched by category or by id, so that
# either form of the event reaches the topic.
GLOBAL_FAILOVER_EVENT_IDS: tuple[str, ...] = (
    "RDS-EVENT-0185",
    "RDS-EVENT-0186",
    "RDS-EVENT-0187",
    "RDS-EVENT-0237",
    "RDS-EVENT-0238",
    "RDS-EVENT-0239",
)
RUNBOOK = "docs/runbook.md"
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


def failover_event_pattern() -> dict[str, Any]:
    """RDS events about a global database switchover or failover, from any cluster of the account."""
    return {
        "source": ["aws.rds"],
        "detail": {
            "$or": [
                {"EventCategories": ["global-failover"]},
                {"EventID": list(GLOBAL_FAILOVER_EVENT_IDS)},
            ]
        },
    }


def topic_policy(
    *, topic_arn: str, account_id: str, partition: str, publisher_role_arns: Sequence[str]
) -> dict[str, Any]:
    """CloudWatch alarms and EventBridge rules of this account may publish, and so may the DR operator
    role and the regional watchers; every other publisher is denied, even one whose IAM policy allows
    sns:Publish; the account manages the topic; nothing reaches it without TLS.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlarmsAndRulesOfThisAccountPublish",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHING_SERVICES)},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "AccountManagesTopic",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:ListSubscriptionsByTopic",
                    "sns:SetTopicAttributes",
                    "sns:Subscribe",
                ],
                "Resource": topic_arn,
            },
            {
                # A service call carries aws:PrincipalServiceName, a role session aws:PrincipalArn:
                # the Deny applies unless one of them is an allowed publisher.
                "Sid": "DenyOtherPublishers",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringNotEqualsIfExists": {"aws:PrincipalServiceName": list(PUBLISHING_SERVICES)},
                    "ArnNotEqualsIfExists": {"aws:PrincipalArn": list(publisher_role_arns)},
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class DrNotificationsArgs:
    """Inputs of one region's DR notifications."""

    region: str
    namer: Namer
    kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    emails: Sequence[str]
    publisher_role_arns: Sequence[pulumi.Input[str]]
    provider: aws.Provider


class DrNotifications(pulumi.ComponentResource):
    """The region's KMS-encrypted DR topic, its e-mail subscriptions and the failover event rule."""

    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DrNotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:monitoring:DrNotifications", name, None, opts)
        region, namer = args.region, args.namer
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        topic = aws.sns.Topic(
            f"{region}-dr-topic",
            name=namer.regional("dr", region),
            display_name=f"Payments DR ({region})",
            kms_master_key_id=args.kms_key_arn,
            tags={"Name": namer.regional("dr", region)},
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{region}-dr-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id, args.partition, *args.publisher_role_arns).apply(
                lambda v: json.dumps(
                    topic_policy(topic_arn=v[0], account_id=v[1], partition=v[2], publisher_role_arns=v[3:])
                )
            ),
            opts=child,
        )
        # E-mail subscriptions stay "pending confirmation" until the recipient confirms; AWS removes
        # unconfirmed ones after three days, and the stack cannot delete them before that.
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{region}-dr-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child
            )
        rule = aws.cloudwatch.EventRule(
            f"{region}-global-failover-events",
            name=namer.regional("global-failover", region),
            description="Aurora global database switchover and failover events",
            event_pattern=json.dumps(failover_event_pattern()),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{region}-global-failover-to-topic",
            rule=rule.name,
            arn=topic.arn,
            input_transformer={
                "input_paths": {
                    "event": "$.detail.EventID",
                    "message": "$.detail.Message",
                    "source": "$.detail.SourceIdentifier",
                    "time": "$.time",
                    "region": "$.region",
                },
                "input_template": (
                    '"Aurora global database event <event> at <time> in <region>: <message> (source: <source>). '
                    f"Next: follow {RUNBOOK}, section After a switchover or failover: confirm the new writer, "
                    'then swap TapStack:primaryRegion and TapStack:secondaryRegion and run pulumi up."'
                ),
            },
            opts=child,
        )
        # A rule that cannot deliver (a key policy, a deleted topic) fails silently unless watched.
        aws.cloudwatch.MetricAlarm(
            f"{region}-global-failover-delivery",
            name=namer.regional("failover-events-undelivered", region),
            alarm_description="Failover events could not be delivered to the DR topic: check the topic's key "
            "policy and the rule's target; read the RDS events in the console meanwhile.",
            namespace="AWS/Events",
            metric_name="FailedInvocations",
            dimensions={"RuleName": rule.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=child,
        )
        self.topic_arn = topic.arn
        self.register_outputs({"topicArn": self.topic_arn})
