# -j TTL (ipt_TTL): --ttl-set/--ttl-dec/--ttl-inc; mangle only
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j TTL
-j TTL --ttl-set 64
-j TTL --ttl-set 0
-j TTL --ttl-set 255
-j TTL --ttl-set 256
-j TTL --ttl-set 0x40
-j TTL --ttl-dec 1
-j TTL --ttl-dec 0
-j TTL --ttl-inc 2
-j TTL --ttl-inc 0
-j TTL --ttl-inc 255
-j TTL --ttl-set 1 --ttl-inc 1
-j TTL --ttl-set 1 --ttl-set 2
-j TTL ! --ttl-set 1
-j TTL --ttl-d 3
*filter
:INPUT
-j TTL --ttl-set 64
*mangle
:USER1
-j TTL --ttl-inc 1
*raw
:PREROUTING
-j TTL --ttl-set 64
