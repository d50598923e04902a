# -m icmp: type names and numbers; implicit load by -p icmp
*filter
:INPUT,OUTPUT
-p icmp --icmp-type echo-request
-p icmp --icmp-type any
-p icmp -m icmp --icmp-type 8
-p icmp --icmp-type 8/0
-p icmp --icmp-type 3/3
-p icmp --icmp-type port-unreachable
-p icmp ! --icmp-type echo-reply
-p icmp --icmp-type ping
-p icmp --icmp-type pong
-p icmp --icmp-type ECHO-REQUEST
-p icmp --icmp-type echo-req
-p icmp --icmp-type echo
-p icmp --icmp-type 255
-p icmp --icmp-type 256
-p icmp --icmp-type 8/256
-p icmp --icmp-type 0x3/0x4
-p icmp --icmp-type 3/99
-p icmp --icmp-type 42
-p icmp --icmp-type 11/1
-p icmp --icmp-type TOS-host-redirect
-p icmp --icmp-type bogus
-p icmp --icmp-type ""
-p icmp --icmp-type 8/
-p icmp --icmp-type ! 8
-p icmp -m icmp
-p icmp --icmp-type 8 --icmp-type 0
-m icmp --icmp-type 8
-p udp -m icmp --icmp-type 8
! -p icmp -m icmp --icmp-type 8
-p 1 --icmp-type 0
# iptables 1.8.9: a code range after the slash, a one-type "type range", and every type 255 saved as "any"
-p icmp --icmp-type 255/255
-p icmp ! --icmp-type 255/0
-p icmp --icmp-type 3/1:4
-p icmp --icmp-type 3/4:1
-p icmp --icmp-type 8:8
-p icmp --icmp-type 8:9
-p icmp --icmp-type 3/1:
-p icmp --icmp-type 3x
:USER1
-m icmp --icmp-type 8
