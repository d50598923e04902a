# -m cgroup (xt_cgroup): the sending socket's net_cls classid or cgroup2 path; LOCAL_OUT, POST_ROUTING, LOCAL_IN only
*filter
:INPUT,OUTPUT
-m cgroup --cgroup 1
-m cgroup ! --cgroup 0x100001
-m cgroup --cgroup 0
-m cgroup --cgroup 4294967295
-m cgroup --cgroup 4294967296
-m cgroup --cgroup -1
-m cgroup --cgroup x
-m cgroup --path /
-m cgroup ! --path /
-m cgroup --path /nonexistent-pynf
-m cgroup --path "/"
-m cgroup --path / --cgroup 1
-m cgroup
-m cgroup --cgroup 1 --cgroup 2
-m cgroup --cgroup ! 1
:FORWARD
-m cgroup --cgroup 1
:USER1
-m cgroup --cgroup 1
*mangle
:PREROUTING
-m cgroup --cgroup 1
*mangle
:POSTROUTING,INPUT,OUTPUT
-m cgroup --cgroup 1
-m cgroup --path /
*nat
:OUTPUT,POSTROUTING,INPUT
-m cgroup --cgroup 2
*nat
:PREROUTING
-m cgroup --cgroup 2
