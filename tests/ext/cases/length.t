# -m length: IP packet length or range
*filter
:INPUT,OUTPUT
-m length --length 100
-m length --length 100:200
-m length ! --length 0:64
-m length --length 1500:
-m length --length :64
-m length --length :
-m length --length 0x40
-m length --length 010
-m length --length 65535
-m length --length 65536
-m length --length 200:100
-m length --length 5:5
-m length --length 1:2:3
-m length --length abc
-m length --length -5
-m length
-m length --length 1 --length 2
-m length --length ! 100
-p tcp -m length --len 40
*mangle
:PREROUTING,POSTROUTING
-m length --length 1000:1500
