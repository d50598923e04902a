# -m devgroup (xt_devgroup): device group of the incoming/outgoing device
*filter
:INPUT,FORWARD,OUTPUT
-m devgroup --src-group 1
-m devgroup ! --src-group 0x10/0xf0
-m devgroup --dst-group 2
-m devgroup ! --dst-group 010
-m devgroup --src-group 1 --dst-group 2
-m devgroup ! --src-group 3 ! --dst-group default
-m devgroup --src-group default
-m devgroup --src-group default/0xff
-m devgroup --src-group 0/0xffffffff
-m devgroup --src-group 0/0xff
-m devgroup --src-group 0xffffffff
-m devgroup --src-group 0x100000000
-m devgroup --src-group x
-m devgroup --src-group 5/
-m devgroup --src-group ! 1
-m devgroup
-m devgroup --src-group 1 --src-group 2
-m devgroup --src 3
*mangle
:PREROUTING,POSTROUTING
-m devgroup --src-group 1
-m devgroup --dst-group 1
