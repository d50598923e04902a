# -m udp: ports; implicit load by -p udp
*filter
:INPUT,OUTPUT
-p udp --dport 53
-p udp -m udp --sport 1:1023
-p udp --dport 5000:
-p udp --sport :1024 --dport 53
-p udp --dport 1024:80
-p udp ! --dport 53 -j ACCEPT
-p udp ! --sport 67:68
-p udp --dport ! 53
-p udp --dport domain
-p udp --source-port 0x35
-p udp --destination-port 010
-p udp --dport 65536
-p udp --dport -1
-p udp --dport 0:65535
-p udp ! --dport 0:65535
-p udp --dport 53 --dport 54
-p udp -m udp
-m udp --dport 53
-p tcp -m udp --dport 53
-p udplite -m udp --dport 53
! -p udp -m udp --dport 53
-p 17 --dport 53
-p udp --dp 53
-p udp --dport=123
-p udp --dport bogus-service
:USER1
-m udp --dport 53
