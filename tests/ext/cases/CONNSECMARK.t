# -j CONNSECMARK (xt_CONNSECMARK): --save/--restore; mangle and security tables
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j CONNSECMARK
-j CONNSECMARK --save
-j CONNSECMARK --restore
-j CONNSECMARK --save --restore
-j CONNSECMARK --save --save
-j CONNSECMARK ! --save
-j CONNSECMARK --rest
*security
:INPUT,FORWARD,OUTPUT
-j CONNSECMARK --save
-j CONNSECMARK --restore
*filter
:INPUT
-j CONNSECMARK --save
*raw
:PREROUTING
-j CONNSECMARK --restore
*nat
:PREROUTING
-j CONNSECMARK --save
