# -m tcp: ports, flags, option; implicit load by -p tcp
*filter
:INPUT,OUTPUT
-p tcp --dport 80
-p tcp -m tcp --sport 1:1023
-p tcp --dport 80:
-p tcp --dport :1024
-p tcp --dport 1024:80
-p tcp ! --dport 22 -j ACCEPT
-p tcp --dport ! 22
-p tcp --dport http
-p tcp --dport 0x50
-p tcp --dport 010
-p tcp --dport 65536
-p tcp --dport -1
-p tcp --dport 0:65535
-p tcp ! --dport 0:65535
-p tcp --syn
-p tcp ! --syn
-p tcp --tcp-flags SYN,ACK SYN
-p tcp --tcp-flags ALL NONE
-p tcp --tcp-flags ALL ALL
-p tcp --tcp-flags syn,fin fin
-p tcp --tcp-flags BOGUS SYN
-p tcp --tcp-flags SYN
-p tcp --syn --tcp-flags SYN SYN
-p tcp --tcp-option 2
-p tcp ! --tcp-option 8
-p tcp --tcp-option 0
-p tcp --dport 80 --dport 81
-m tcp --dport 80
-p udp -m tcp --dport 80
! -p tcp -m tcp --dport 80
-p 6 --dport 80
-p tcp --dpo 80
-p tcp --dport=443
-p tcp -m comment --comment x --dport 80
-p tcp -m tcp --dport 80 -m tcp --sport 90
