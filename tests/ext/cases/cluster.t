# -m cluster (xt_cluster): a jhash of the connection's original source picks one of N nodes
*filter
:INPUT,FORWARD
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 0xdeadbeef
-m cluster --cluster-total-nodes 2 ! --cluster-local-node 2 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 4 --cluster-local-nodemask 5 --cluster-hash-seed 0
-m cluster --cluster-total-nodes 4 ! --cluster-local-nodemask 0xf --cluster-hash-seed 7
-m cluster --cluster-total-nodes 32 --cluster-local-node 32 --cluster-hash-seed 4294967295
-m cluster --cluster-total-nodes 32 --cluster-local-nodemask 32 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 33 --cluster-local-node 1 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 0 --cluster-local-node 1 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 3 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 0 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-nodemask 4 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-nodemask 3 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 3 --cluster-local-nodemask 33 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-nodemask 0 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-hash-seed 1
-m cluster --cluster-local-node 1 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-local-nodemask 1 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 4294967296
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed x
-m cluster --cluster-total-nodes 0x2 --cluster-local-node 01 --cluster-hash-seed 010
-m cluster ! --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 ! --cluster-hash-seed 1
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-local-node 2 --cluster-hash-seed 1
-m cluster
*mangle
:PREROUTING,POSTROUTING,OUTPUT
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 1 -j MARK --set-mark 1
*raw
:PREROUTING
-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 1
