# -m realm (xt_realm): the route's realm (dst->tclassid), a value or name of /etc/iproute2/rt_realms
*filter
:INPUT,OUTPUT,FORWARD
-m realm --realm 5
-m realm --realm 0x10/0xff
-m realm ! --realm 1
-m realm --realm 0
-m realm --realm cosmos
-m realm ! --realm cosmos
-m realm --realm 0xffffffff
-m realm --realm 4294967295
-m realm --realm 4294967296
-m realm --realm 1/0xffffffff
-m realm --realm 1/0
-m realm --realm 010
-m realm --realm 1/
-m realm --realm /1
-m realm --realm nosuchrealm
-m realm --realm russia
-m realm --realm -1
-m realm --realm ! 1
-m realm
-m realm --realm 1 --realm 2
:USER1
-m realm --realm 3
*mangle
:PREROUTING
-m realm --realm 3
*mangle
:POSTROUTING
-m realm --realm 3
*nat
:PREROUTING
-m realm --realm 3
*nat
:POSTROUTING,OUTPUT,INPUT
-m realm --realm 3
*raw
:PREROUTING,OUTPUT
-m realm --realm 3
