#!/bin/sh
# The same configuration as ops/ha/sanhe.crm, through pcs (run once, on one
# node, after the DRBD resource is up and a stonith device is configured).
set -eu
pcs resource create p_drbd_sanhe ocf:linbit:drbd drbd_resource=sanhe \
    op monitor interval=29s role=Promoted op monitor interval=31s role=Unpromoted \
    promotable promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
pcs resource create p_fs_sanhe ocf:heartbeat:Filesystem device=/dev/drbd0 \
    directory=/var/lib/sanhe fstype=ext4 options="noatime,data=ordered" --group g_sanhe
pcs resource create p_ip_sanhe ocf:heartbeat:IPaddr2 ip=10.0.0.10 cidr_netmask=24 \
    op monitor interval=10s --group g_sanhe
pcs resource create p_sanhe_engine systemd:sanhe-engine \
    op monitor interval=10s timeout=30s op start timeout=60s op stop timeout=60s --group g_sanhe
pcs constraint colocation add g_sanhe with Promoted p_drbd_sanhe-clone INFINITY
pcs constraint order promote p_drbd_sanhe-clone then start g_sanhe
pcs property set stonith-enabled=true no-quorum-policy=stop
pcs resource defaults update resource-stickiness=200 migration-threshold=3
