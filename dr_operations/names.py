"""Names shared by the operations library, the watcher Lambda and the Pulumi program (which declares the
alarms and dashboards on these metrics). No imports: the Pulumi program may import this module without
boto3 being installed.
"""

from __future__ import annotations

# The watcher's metrics, published in the watcher's own region. Dimensions: Region (where the watcher runs),
# Peer (the other region), and Store (DynamoDB or S3) for the replication measurements.
NAMESPACE = "Payments/DR"
PEER_HEALTHY = "PeerHealthy"  # 1 when the peer's /health answered 200 healthy, else 0
PEER_DRAINED = "PeerDrained"  # 1 when the peer's /health said drained (on purpose, not an outage)
PEER_PROBE_LATENCY = "PeerProbeLatency"  # ms
MEASURED_REPLICATION_LAG = "MeasuredReplicationLag"  # ms, this region's write -> readable in the peer's replica
HEARTBEAT_MISSED = "HeartbeatMissed"  # 1 when the heartbeat did not reach the peer within the poll bound
AUTO_FAILOVER_ACTIONS = "AutoFailoverActions"  # 1 in a minute the watcher called the failover
STORES = ("DynamoDB", "S3")

# The watchers run once a minute. Aurora publishes its lag every minute, about a minute late: a last datapoint
# older than AURORA_FRESH_SECONDS means replication has stalled. The Pulumi program's failover budget counts
# both (lib/failover.py), so the figure it exports follows the code that decides.
WATCHER_INTERVAL_SECONDS = 60
AURORA_FRESH_SECONDS = 150

# The watcher Lambda, identical in both regions.
WATCHER_FUNCTION = "dr-watcher"
WATCHER_HANDLER = "watcher.handler.lambda_handler"
# The watchers' heartbeat objects, in each region's receipts bucket (they expire after a day).
HEARTBEAT_PREFIX = "heartbeats/"
# Items of the global table that only operators' tooling writes (never a payment).
CONTROL_PREFIX = "CONTROL#"
HEARTBEAT_ITEM_PREFIX = "HEARTBEAT#"
WATCHER_ITEM_PREFIX = "WATCHER#"
LATCH_ITEM_PREFIX = "AUTOMATION#"
