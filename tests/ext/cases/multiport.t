# -m multiport (revision 1): up to 15 ports, ranges, inversion; needs -p tcp/udp/udplite/sctp/dccp
*filter
:INPUT,OUTPUT
-p tcp -m multiport --dports 80,443
-p tcp -m multiport --sports 1:1023,2000
-p tcp -m multiport --ports 22
-p tcp -m multiport ! --dports 80,8080:8090
-p tcp -m multiport --destination-ports http,https
-p tcp -m multiport --source-ports 0x50,010
-p udp -m multiport --dports 53,123,161:162
-p udplite -m multiport --dports 53
-p sctp -m multiport --ports 80,81
-p dccp -m multiport --dports 5004
-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16
-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14:20
-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13:14,15
-p tcp -m multiport --dports 10:5
-p tcp -m multiport --dports 10:10
-p tcp -m multiport --dports 80,
-p tcp -m multiport --dports 65536
-p tcp -m multiport --dports :80
-p tcp -m multiport --sports 80 --dports 80
-p tcp -m multiport --dports 80 --dports 81
-p tcp -m multiport
-m multiport --dports 80
-p icmp -m multiport --dports 80
! -p tcp -m multiport --dports 80
-m multiport --dports 80 -p tcp
-p tcp -m multiport --dport 80
-p tcp -m multiport --dports ! 80
:USER1
-m multiport --dports 80
