# -j SYNPROXY (xt_SYNPROXY): -p tcp, only from INPUT and FORWARD; turns conntrack on
*filter
:INPUT,FORWARD,OUTPUT,USER1
-p tcp -j SYNPROXY
-p tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
*mangle
:PREROUTING,INPUT,FORWARD,POSTROUTING
-p tcp -j SYNPROXY --mss 1460
*raw
:PREROUTING
-p tcp -j SYNPROXY --mss 1460
*filter
:INPUT
-p tcp -j SYNPROXY --ecn
-p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460 --ecn
-p tcp -j SYNPROXY --ecn --mss 1460 --wscale 7 --timestamp --sack-perm
-p tcp -j SYNPROXY --wscale 0 --mss 0
-p tcp -j SYNPROXY --wscale 14
-p tcp -j SYNPROXY --wscale 15
-p tcp -j SYNPROXY --wscale 255
-p tcp -j SYNPROXY --wscale 256
-p tcp -j SYNPROXY --wscale 4294967295
-p tcp -j SYNPROXY --wscale 4294967296
-p tcp -j SYNPROXY --mss 65535
-p tcp -j SYNPROXY --mss 65536
-p tcp -j SYNPROXY --mss 70000
-p tcp -j SYNPROXY --mss -1
-p tcp -j SYNPROXY --mss 0x5b4
-p tcp -j SYNPROXY --mss 1460 --mss 1400
-p tcp -j SYNPROXY --timestamp --timestamp
-p tcp -j SYNPROXY ! --ecn
-p udp -j SYNPROXY
! -p tcp -j SYNPROXY
-j SYNPROXY
-p 6 -j SYNPROXY --timestamp
