# -m ecn: TCP ECE/CWR bits (need -p tcp) and the IP ECT field
*filter
:INPUT,OUTPUT
-p tcp -m ecn --ecn-tcp-ece
-p tcp -m ecn --ecn-tcp-cwr
-p tcp -m ecn ! --ecn-tcp-ece ! --ecn-tcp-cwr
-p tcp -m ecn --ecn-tcp-cwr --ecn-tcp-ece --ecn-ip-ect 1
-m ecn --ecn-ip-ect 0
-m ecn --ecn-ip-ect 3
-m ecn ! --ecn-ip-ect 2
-m ecn --ecn-ip-ect 4
-m ecn --ecn-ip-ect 0x1
-m ecn --ecn-ip-ect x
-m ecn --ecn-tcp-ece
-p udp -m ecn --ecn-tcp-cwr
! -p tcp -m ecn --ecn-tcp-ece
-p udp -m ecn --ecn-ip-ect 1
-m ecn
-p tcp -m ecn --ecn-tcp-ece --ecn-tcp-ece
-m ecn --ecn-ip-ect 1 --ecn-ip-ect 2
-p tcp -m ecn --ecn-tcp-ece=1
-m ecn --ecn-ip-ect ! 1
:USER1
-m ecn --ecn-tcp-ece
*mangle
:PREROUTING
-p tcp -m ecn --ecn-tcp-ece --ecn-ip-ect 3
