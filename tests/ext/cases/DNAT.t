# -j DNAT (revision 2, struct nf_nat_range2): nat PREROUTING/OUTPUT only
*nat
:PREROUTING,OUTPUT,INPUT,POSTROUTING,USER1
-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.180.0.1:80
-m tcp -p tcp -j DNAT --to-destination 10.233.0.1:80
! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.233.17.2:80
-j DNAT --to-destination 10.233.0.1
-j DNAT --to 10.233.0.1
-j DNAT
*nat
:PREROUTING,USER1
-d 10.233.0.9 -j DNAT --to-destination 10.233.0.1-10.233.0.5
-p udp -j DNAT --to-destination 10.233.0.1-10.233.0.5:53-60 --random --persistent
-p tcp -j DNAT --to-destination 10.233.0.1:8080-8090/9000
-p tcp -j DNAT --to-destination 10.233.0.1:8080-8090/http
-p tcp -j DNAT --to-destination 10.233.0.1:8080-8090/0
-p tcp -j DNAT --to-destination 10.233.0.1:8080-8090/9000x
-p tcp -j DNAT --to-destination 10.233.0.1:8080/9000
-p sctp -j DNAT --to-destination :1000-2000
-p dccp -j DNAT --to-destination 10.233.0.2:0x50
-p icmp -j DNAT --to-destination 10.233.0.2:010
-p tcp -j DNAT --to-destination 10.233.0.2:http
-p tcp -j DNAT --to-destination 10.233.0.2:http-90
-p tcp -j DNAT --to-destination 10.233.0.2:80-http
-p tcp -j DNAT --to-destination 10.233.0.2:90-80
-p tcp -j DNAT --to-destination 10.233.0.2:80-80
-p tcp -j DNAT --to-destination 10.233.0.2:80x
-p tcp -j DNAT --to-destination 10.233.0.2:80:90
-p tcp -j DNAT --to-destination 10.233.0.2:65536
-p tcp -j DNAT --to-destination 10.233.0.2:
-p tcp -j DNAT --to-destination ab:80
-p tcp -j DNAT --to-destination 10.233.0.2:80-90y
-p udp -j DNAT --to-destination 10.233.0.2:80-
-p gre -j DNAT --to-destination 10.233.0.2:80
-p tcp -j DNAT --to-destination 10.233.0.1 --random-fully
-j DNAT --to-destination 10.233.0.1 --to-destination 10.233.0.2
-j DNAT --to-destination 10.233.0.300
-j DNAT --to-destination 10.233.1
-j DNAT --to-destination 10.233.0.01
-j DNAT --to-destination 0x0a.233.0.1
-j DNAT --to-destination 10.233.0.5-10.233.0.1
-j DNAT --to-destination 10.233.0.1-
-j DNAT --to-destination [10.233.0.1]:80
-j DNAT --to-destination ""
-j DNAT --to-destination 10.233.0.1 --random --random
-j DNAT ! --to-destination 10.233.0.1
-j DNAT --to-destination ! 10.233.0.1
-p tcp -j DNAT --persistent --to-dest 10.233.0.1:80
*filter
:INPUT
-j DNAT --to-destination 10.233.0.1
*mangle
:PREROUTING
-j DNAT --to-destination 10.233.0.1
