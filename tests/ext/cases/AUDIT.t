# -j AUDIT (xt_AUDIT): --type accept|drop|reject
*filter
:INPUT,FORWARD,OUTPUT
-j AUDIT
-j AUDIT --type accept
-j AUDIT --type drop
-j AUDIT --type reject
-j AUDIT --type ACCEPT
-j AUDIT --type Drop
-j AUDIT --type acc
-j AUDIT --type bogus
-j AUDIT --type accept --type drop
-j AUDIT ! --type accept
-j AUDIT --ty reject
*mangle
:PREROUTING
-j AUDIT --type accept
*raw
:OUTPUT
-j AUDIT --type drop
*nat
:POSTROUTING
-j AUDIT --type reject
