# -m physdev (xt_physdev): bridge port devices
*filter
:INPUT,FORWARD,OUTPUT
-m physdev --physdev-in eth0
-m physdev ! --physdev-in veth+
-m physdev --physdev-is-in
-m physdev ! --physdev-is-in
-m physdev --physdev-is-bridged
-m physdev ! --physdev-is-bridged
-m physdev --physdev-out eth1
-m physdev --physdev-is-out
-m physdev ! --physdev-is-out
-m physdev --physdev-is-bridged --physdev-out eth1
-m physdev --physdev-is-bridged --physdev-is-out
-m physdev ! --physdev-is-bridged --physdev-out eth1
-m physdev --physdev-in eth0 --physdev-out eth1 --physdev-is-in --physdev-is-out --physdev-is-bridged
-m physdev --physdev-in 0123456789abcde
-m physdev --physdev-in 0123456789abcdef
-m physdev --physdev-in ""
-m physdev --physdev-in ! eth0
-m physdev
-m physdev --physdev-in eth0 --physdev-in eth1
-m physdev --physdev-is-b
:USER1
-m physdev --physdev-out eth1
:INPUT,FORWARD,OUTPUT
-m physdev --physdev-out ! eth1
*nat
:PREROUTING,POSTROUTING,OUTPUT
-m physdev --physdev-out eth1
