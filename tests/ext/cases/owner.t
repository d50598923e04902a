# -m owner: the local socket's owner (revision 1); OUTPUT and POSTROUTING only
*filter
:OUTPUT,INPUT,USER1
-m owner --uid-owner 0
*filter
:OUTPUT
-m owner --uid-owner 1000-2000
-m owner ! --uid-owner 1000
-m owner --gid-owner 100
-m owner --gid-owner 100-200 --suppl-groups
-m owner ! --gid-owner 100 --suppl-groups
-m owner --suppl-groups
-m owner --socket-exists
-m owner ! --socket-exists
-m owner --uid-owner 4294967295
-m owner --uid-owner 4294967294
-m owner --uid-owner 2000-1000
-m owner --uid-owner -1
-m owner --uid-owner 0x10-010
-m owner
-m owner --uid-owner 1 --gid-owner 2 --socket-exists
-m owner --uid-owner 1 --uid-owner 2
-m owner --uid-owner nosuchuser_pynf
-m owner ! --uid-owner 5-5
*mangle
:POSTROUTING,FORWARD
-m owner --uid-owner 0
