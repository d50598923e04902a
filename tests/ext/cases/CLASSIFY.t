# -j CLASSIFY (xt_CLASSIFY): --set-class major:minor in hex; mangle POSTROUTING/FORWARD/OUTPUT
*mangle
:POSTROUTING,FORWARD,OUTPUT
-j CLASSIFY
-j CLASSIFY --set-class 1:10
-j CLASSIFY --set-class 0:0
-j CLASSIFY --set-class ffff:ffff
-j CLASSIFY --set-class 0x1:0x2
-j CLASSIFY --set-class 10000:1
-j CLASSIFY --set-class 1:10000
-j CLASSIFY --set-class 1
-j CLASSIFY --set-class 1:
-j CLASSIFY --set-class 1:2x
-j CLASSIFY --set-class abc:def
-j CLASSIFY --set-class g:1
-j CLASSIFY --set-class -1:2
-j CLASSIFY --set-class 1:2 --set-class 3:4
-j CLASSIFY ! --set-class 1:2
-j CLASSIFY --set 2:3
*mangle
:PREROUTING,INPUT
-j CLASSIFY --set-class 1:1
*mangle
:USER1
-j CLASSIFY --set-class 1:1
*filter
:INPUT,FORWARD,OUTPUT
-j CLASSIFY --set-class 1:1
*raw
:PREROUTING,OUTPUT
-j CLASSIFY --set-class 2:2
*security
:INPUT,FORWARD
-j CLASSIFY --set-class 3:3
*nat
:POSTROUTING
-j CLASSIFY --set-class 4:4
