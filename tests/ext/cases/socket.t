# -m socket: a local socket for the packet (revision 3); PREROUTING/INPUT only
*mangle
:PREROUTING,INPUT,OUTPUT,USER1
-m socket
-m socket --transparent
*mangle
:PREROUTING
-m socket --nowildcard
-m socket --restore-skmark
-m socket --transparent --nowildcard --restore-skmark
-m socket ! --transparent
-m socket --transparent --transparent
-m socket --trans
*filter
:INPUT,FORWARD
-m socket
*nat
:PREROUTING
-m socket --nowildcard
