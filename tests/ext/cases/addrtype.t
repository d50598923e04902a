# -m addrtype (xt_addrtype rev 1): route type of source/destination address
*filter
:INPUT,FORWARD,OUTPUT
-m addrtype --dst-type LOCAL
-m addrtype --src-type LOCAL
-m addrtype ! --dst-type LOCAL
-m addrtype --src-type UNSPEC,UNICAST,LOCAL,BROADCAST,ANYCAST,MULTICAST,BLACKHOLE,UNREACHABLE,PROHIBIT,THROW,NAT,XRESOLVE
-m addrtype --dst-type local,broadcast
-m addrtype --dst-type LOC,MULTI
-m addrtype --dst-type U
-m addrtype --dst-type BOGUS
-m addrtype --dst-type LOCAL,
-m addrtype --dst-type ""
-m addrtype --src-type LOCAL ! --dst-type MULTICAST,BROADCAST
-m addrtype
-m addrtype --limit-iface-in
-m addrtype --dst-type LOCAL --limit-iface-in
-m addrtype --dst-type LOCAL --limit-iface-out
-m addrtype --dst-type LOCAL --limit-iface-in --limit-iface-out
-m addrtype --dst-type LOCAL ! --limit-iface-in
-m addrtype --dst-type LOCAL --dst-type UNICAST
-m addrtype --dst-type ! LOCAL
-m addrtype --dst LOCAL
-m addrtype --src-t LOCAL ! --dst-t LOCAL
*nat
:PREROUTING,OUTPUT,POSTROUTING
-m addrtype --dst-type LOCAL -j USER1
-m addrtype --src-type LOCAL --limit-iface-in
-m addrtype --src-type LOCAL --limit-iface-out
:USER1
-m addrtype --dst-type LOCAL --limit-iface-in
