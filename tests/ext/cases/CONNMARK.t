# -j CONNMARK (xt_CONNMARK rev 2): set/save/restore with masks and shifts
*mangle
:PREROUTING,OUTPUT
-j CONNMARK
-j CONNMARK --set-mark 1
-j CONNMARK --set-mark 0x10/0xf0
-j CONNMARK --set-mark 0x1/0x2
-j CONNMARK --set-xmark 0x5/0xff
-j CONNMARK --set-xmark 5
-j CONNMARK --set-xmark 0x100000000
-j CONNMARK --and-mark 0xff
-j CONNMARK --or-mark 0x4000
-j CONNMARK --xor-mark 0x3
-j CONNMARK --save-mark
-j CONNMARK --save-mark --mask 0xff
-j CONNMARK --save-mark --nfmask 0xff
-j CONNMARK --save-mark --ctmask 0xf0
-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff
-j CONNMARK --save-mark --nfmask 0xf --ctmask 0xf0
-j CONNMARK --save-mark --mask 0xff --ctmask 0xf
-j CONNMARK --restore-mark
-j CONNMARK --restore-mark --mask 0xffff
-j CONNMARK --restore-mark --ctmask 0xf --nfmask 0xf0
-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
-j CONNMARK --set-mark 1 --mask 0xff
-j CONNMARK --set-xmark 1/2 --ctmask 4
-j CONNMARK --set-mark 1 --nfmask 0xf
-j CONNMARK --save-mark --left-shift-mark 8
-j CONNMARK --restore-mark --right-shift-mark 4
-j CONNMARK --restore-mark --mask 0xff00 --right-shift-mark 8
-j CONNMARK --set-mark 2 --left-shift-mark 1
-j CONNMARK --save-mark --left-shift-mark 33
-j CONNMARK --save-mark --left-shift-mark 32
-j CONNMARK --left-shift-mark 2
-j CONNMARK --mask 0xff
-j CONNMARK --save-mark --restore-mark
-j CONNMARK --set-mark 1 --save-mark
-j CONNMARK --save-mark --mask 0x100000000
-j CONNMARK ! --save-mark
-j CONNMARK --save
-j CONNMARK --rest --mask 1
*filter
:INPUT,FORWARD,OUTPUT
-j CONNMARK --restore-mark
*nat
:PREROUTING
-j CONNMARK --save-mark
*raw
:PREROUTING
-j CONNMARK --set-mark 1
