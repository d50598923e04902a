# -j TRACE (xt_TRACE): no options, raw table only
*raw
:PREROUTING,OUTPUT,USER1
-j TRACE
-p tcp --dport 22 -j TRACE
-j TRACE --bogus
-j TRACE --dport 22
*filter
:INPUT,OUTPUT
-j TRACE
*mangle
:PREROUTING
-j TRACE
*nat
:OUTPUT
-j TRACE
