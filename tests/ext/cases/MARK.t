# -j MARK (xt_MARK rev 2): every form canonicalises to --set-xmark value/mask
*mangle
:PREROUTING,OUTPUT
-j MARK
-j MARK --set-mark 1
-j MARK --set-mark 0x10/0xff
-j MARK --set-mark 0x1/0x2
-j MARK --set-mark 0
-j MARK --set-mark 0xffffffff
-j MARK --set-mark 0x100000000
-j MARK --set-mark 010
-j MARK --set-mark -1
-j MARK --set-mark 1/
-j MARK --set-mark 1/2/3
-j MARK --set-mark abc
-j MARK --set-xmark 0x4000/0x4000
-j MARK --set-xmark 5
-j MARK --set-xmark 0/0
-j MARK --set-xmark 7/0
-j MARK --and-mark 0xffff00ff
-j MARK --and-mark 0
-j MARK --and-mark 0xffffffff
-j MARK --or-mark 0x4000
-j MARK --or-mark 0
-j MARK --xor-mark 0x8
-j MARK --xor-mark 0x8/0x8
-j MARK --set-mark 1 --or-mark 2
-j MARK --set-mark 1 --set-mark 2
-j MARK ! --set-mark 1
-j MARK --set-x 3/3
-j MARK --or 0x1
*filter
:INPUT,FORWARD,OUTPUT
-j MARK --or-mark 0x4000
*nat
:PREROUTING,POSTROUTING
-j MARK --set-mark 0x1
*raw
:PREROUTING
-j MARK --and-mark 0x1
*security
:INPUT
-j MARK --set-mark 0x2
