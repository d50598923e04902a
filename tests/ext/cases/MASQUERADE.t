# -j MASQUERADE (revision 0): nat POSTROUTING only
*nat
:POSTROUTING,PREROUTING,INPUT,OUTPUT,USER1
-j MASQUERADE --random-fully
-s 10.233.0.0/16 ! -o docker0 -j MASQUERADE
*nat
:POSTROUTING,USER1
-j MASQUERADE
-p tcp -j MASQUERADE --to-ports 1024-65535
-p udp -j MASQUERADE --to-ports 5000 --random
-p sctp -j MASQUERADE --to-ports 0x1000-010000
-p tcp -j MASQUERADE --random --random-fully
-p tcp -j MASQUERADE --to-ports 1000-2000/3000
-p tcp -j MASQUERADE --to-ports 1000:2000
-p tcp -j MASQUERADE --to-ports 2000-1000
-p tcp -j MASQUERADE --to-ports http
-p tcp -j MASQUERADE --to 1000
-j MASQUERADE --to-ports 1000
-p tcp -j MASQUERADE --to-ports 10.233.0.1:1000
-p tcp -j MASQUERADE --to-ports 1000 --to-ports 2000
-j MASQUERADE --persistent
-j MASQUERADE ! --random
*mangle
:POSTROUTING
-j MASQUERADE
