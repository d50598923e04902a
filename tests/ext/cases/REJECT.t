# -j REJECT (ipt_REJECT): --reject-with types and aliases, tcp-reset needs -p tcp, INPUT/FORWARD/OUTPUT only
*filter
:INPUT,FORWARD,OUTPUT
-j REJECT
-j REJECT --reject-with icmp-port-unreachable
-j REJECT --reject-with icmp-net-unreachable
-j REJECT --reject-with net-unreach
-j REJECT --reject-with icmp-host-unreachable
-j REJECT --reject-with host-unreach
-j REJECT --reject-with icmp-proto-unreachable
-j REJECT --reject-with proto-unreach
-j REJECT --reject-with port-unreach
-j REJECT --reject-with icmp-net-prohibited
-j REJECT --reject-with net-prohib
-j REJECT --reject-with icmp-host-prohibited
-j REJECT --reject-with host-prohib
-j REJECT --reject-with icmp-admin-prohibited
-j REJECT --reject-with admin-prohib
-j REJECT --reject-with ICMP-HOST-PROHIBITED
-j REJECT --reject-with icmp-host
-j REJECT --reject-with icmp
-j REJECT --reject-with tcp
-p tcp -j REJECT --reject-with tcp-reset
-p tcp -j REJECT --reject-with tcp-rst
-p 6 -j REJECT --reject-with tcp-reset
-p udp -j REJECT --reject-with tcp-reset
! -p tcp -j REJECT --reject-with tcp-reset
-j REJECT --reject-with tcp-reset
-j REJECT --reject-with echo-reply
-j REJECT --reject-with bogus
-j REJECT --reject-with icmp-port-unreachable --reject-with icmp-net-unreachable
-j REJECT --reject-with
-j REJECT ! --reject-with icmp-net-unreachable
-j REJECT --rej host-prohib
-p tcp -j REJECT --reject-with tcp-reset --dport 80
*filter
:USER1
-j REJECT --reject-with icmp-net-unreachable
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-j REJECT
*raw
:PREROUTING,OUTPUT
-j REJECT
*nat
:PREROUTING
-j REJECT
*security
:INPUT
-j REJECT --reject-with icmp-host-prohibited
