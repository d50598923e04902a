# -m connmark (xt_connmark rev 1): the connection mark under a mask
*filter
:INPUT,OUTPUT
-m connmark --mark 1
-m connmark --mark 0x10/0xf0
-m connmark ! --mark 0x4000/0x4000
-m connmark --mark 010
-m connmark --mark 0xffffffff/0xffffffff
-m connmark --mark 0x100000000
-m connmark --mark 1/
-m connmark --mark -1
-m connmark --mark x
-m connmark --mark ! 5
-m connmark
-m connmark --mark 1 --mark 2
-m connmark --mark 0/0
*mangle
:PREROUTING,POSTROUTING
-m connmark --mark 0x1/0x1 -j ACCEPT
