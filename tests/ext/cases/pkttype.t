# -m pkttype: link-layer packet type
*filter
:INPUT,OUTPUT
-m pkttype --pkt-type unicast
-m pkttype --pkt-type broadcast
-m pkttype --pkt-type multicast
-m pkttype --pkt-type otherhost
-m pkttype --pkt-type bcast
-m pkttype --pkt-type mcast
-m pkttype --pkt-type host
-m pkttype --pkt-type BROADCAST
-m pkttype ! --pkt-type multicast
-m pkttype --pkt-type outgoing
-m pkttype --pkt-type bogus
-m pkttype --pkt-type 1
-m pkttype
-m pkttype --pkt-type unicast --pkt-type multicast
-m pkttype --pkt-type ! unicast
-m pkttype --pkt broadcast
-p udp --dport 67 -m pkttype --pkt-type broadcast -j DROP
*mangle
:PREROUTING,POSTROUTING
-m pkttype --pkt-type multicast
