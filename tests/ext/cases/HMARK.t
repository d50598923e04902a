# -j HMARK (xt_HMARK): --hmark-mod and --hmark-rnd are mandatory (iptables), a tuple too
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-j HMARK --hmark-tuple src,dst,sport,dport,proto --hmark-mod 16 --hmark-rnd 0x1234
*filter
:INPUT,FORWARD,OUTPUT
-j HMARK --hmark-tuple ct,src,dst,proto --hmark-offset 10000 --hmark-mod 10 --hmark-rnd 0xfeedcafe
*raw
:PREROUTING,OUTPUT
-j HMARK --hmark-tuple src --hmark-mod 2 --hmark-rnd 1
*nat
:PREROUTING,POSTROUTING
-j HMARK --hmark-tuple src --hmark-mod 2 --hmark-rnd 1
*mangle
:FORWARD
-j HMARK --hmark-tuple src --hmark-mod 1 --hmark-rnd 0
-j HMARK --hmark-tuple dst --hmark-mod 0 --hmark-rnd 0
-j HMARK --hmark-tuple dst --hmark-mod 4294967295 --hmark-rnd 4294967295 --hmark-offset 4294967295
-j HMARK --hmark-tuple dst --hmark-mod 4294967296 --hmark-rnd 1
-j HMARK --hmark-tuple dst --hmark-mod 3
-j HMARK --hmark-tuple dst --hmark-rnd 3
-j HMARK --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-offset 5
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-src-prefix 24
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-src-prefix 16 --hmark-dst-prefix 8
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-src-prefix 0
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-src-prefix 32
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-src-prefix 33
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-dst-prefix 255.255.0.0
-j HMARK --hmark-tuple src --hmark-src-prefix 24 --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-src-prefix 24 --hmark-tuple src --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-sport-mask 0xff00
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-dport-mask 65535 --hmark-sport-mask 0
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-dport-mask 65536
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-spi-mask 0xffff0000
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-spi-mask 1 --hmark-sport-mask 1
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-spi 7
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-spi 7 --hmark-dport 80
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-sport 1024 --hmark-dport 80
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-proto-mask 0xff
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-proto-mask 0x1ff
-j HMARK --hmark-mod 3 --hmark-rnd 3 --hmark-proto-mask 65536
-j HMARK --hmark-tuple spi --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple spi,sport --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple ct --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple CT,Src --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple s,d,sp,dp,p --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple sr,ds,spi --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple bogus --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple src, --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple ,src --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple srcx --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple src,src --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple src --hmark-tuple dst --hmark-mod 3 --hmark-rnd 3
-j HMARK --hmark-tuple src --hmark-mod 3 --hmark-mod 4 --hmark-rnd 3
-j HMARK --hmark-tuple src --hmark-mod 3 --hmark-rnd -1
-j HMARK --hmark-tuple src --hmark-mod 3 --hmark-rnd 3 --hmark-offset 0
-j HMARK --hmark-tuple src --hmark-mod 3 --hmark-rnd 3 ! --hmark-offset 1
-p esp -j HMARK --hmark-tuple src,dst,spi --hmark-mod 3 --hmark-rnd 3
-j HMARK
-j HMARK --hmark-tuple src --hmark-mod 3 --hmark-rnd 3 --hmark-dst-prefix 255.0.255.0
-j HMARK --hmark-tuple src --hmark-mod 3 --hmark-rnd 3 --hmark-dst-prefix 24x
-j HMARK --hmark-tuple sport,dport --hmark-mod 3 --hmark-rnd 3 --hmark-spi 0x10000
-j HMARK --hmark-tuple dst --hmark-mod 0x10 --hmark-rnd 010 --hmark-offset 0x10
