"""The regional watcher Lambda: every minute, probes the other region, measures replication end to end and,
when every condition holds, fails the database over to its own region. The logic is the operations library
(``dr_operations``), packaged beside this handler: the same steps ``drctl`` runs.
"""
