# -j TEE (xt_TEE revision 1): clone the packet to a gateway; any table and hook
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-j TEE --gateway 10.233.0.1
*filter
:INPUT,FORWARD,OUTPUT
-j TEE --gateway 10.233.0.1 --oif eth0
*raw
:PREROUTING,OUTPUT
-j TEE --gw 10.233.0.1
*nat
:PREROUTING,POSTROUTING
-j TEE --gateway 10.233.0.1
*mangle
:FORWARD
-j TEE --gateway 0.0.0.0
-j TEE --gateway 0
-j TEE --gateway 255.255.255.255
-j TEE --gateway 10.233.1
-j TEE --gateway 10.233.0.1/24
-j TEE --gateway 10.233.0.300
-j TEE --gateway localhost
-j TEE --gateway bogus.invalid
-j TEE --gateway 10.233.0.1 --oif lo
-j TEE --gateway 10.233.0.1 --oif nosuchdev0
-j TEE --gateway 10.233.0.1 --oif abcdefghijklmno
-j TEE --gateway 10.233.0.1 --oif abcdefghijklmnop
-j TEE --gateway 10.233.0.1 --oif eth+
-j TEE --gateway 10.233.0.1 --gateway 10.233.0.2
-j TEE --oif eth0
-j TEE
-j TEE ! --gateway 10.233.0.1
-p udp --dport 53 -j TEE --gateway 10.233.5.5
-j TEE --gateway 10.233.0.1 --oif ""
-j TEE --gateway 10.233.0.1 --oif eth0 --oif eth1
-j TEE --gateway=10.233.0.7
