# -j ECN (ipt_ECN): mangle only; TCP flag operations need -p tcp (not inverted)
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-p tcp -j ECN --ecn-tcp-remove
-j ECN --ecn-ip-ect 0
*mangle
:FORWARD
-p tcp -j ECN --ecn-tcp-cwr 1
-p tcp -j ECN --ecn-tcp-ece 1
-p tcp -j ECN --ecn-tcp-ece 0 --ecn-tcp-cwr 0
-p tcp -j ECN --ecn-tcp-cwr 0 --ecn-tcp-ece 0
-p tcp -j ECN --ecn-tcp-ece 1 --ecn-tcp-cwr 0
-p tcp -j ECN --ecn-tcp-cwr 1 --ecn-ip-ect 2
-p tcp -j ECN --ecn-tcp-remove --ecn-ip-ect 3
-p tcp -j ECN --ecn-ip-ect 3 --ecn-tcp-remove
-j ECN --ecn-ip-ect 1
-j ECN --ecn-ip-ect 3
-j ECN --ecn-ip-ect 0x2
-j ECN --ecn-ip-ect 4
-j ECN --ecn-ip-ect -1
-j ECN --ecn-ip-ect 1 --ecn-ip-ect 2
-p tcp -j ECN --ecn-tcp-cwr 2
-p tcp -j ECN --ecn-tcp-ece 01
-p tcp -j ECN --ecn-tcp-remove --ecn-tcp-cwr 1
-p tcp -j ECN --ecn-tcp-ece 1 --ecn-tcp-remove
-p tcp -j ECN --ecn-tcp-remove --ecn-tcp-remove
-p tcp -j ECN
-j ECN
-j ECN --ecn-tcp-remove
-p udp -j ECN --ecn-tcp-remove
! -p tcp -j ECN --ecn-tcp-cwr 1
-p udp -j ECN --ecn-ip-ect 1
-p tcp -j ECN ! --ecn-tcp-remove
-p 6 -j ECN --ecn-tcp-ece 1
*filter
:FORWARD
-p tcp -j ECN --ecn-tcp-remove
-j ECN --ecn-ip-ect 1
*raw
:PREROUTING
-j ECN --ecn-ip-ect 1
