# -m rpfilter (xt_rpfilter): reverse path check; raw/mangle PREROUTING only
*raw
:PREROUTING
-m rpfilter
-m rpfilter --invert -j DROP
-m rpfilter --validmark --invert
-m rpfilter --loose --validmark --accept-local --invert
-m rpfilter --accept-local
-m rpfilter --loose --loose
-m rpfilter ! --invert
-m rpfilter --loo
-m rpfilter -j USER1
:OUTPUT
-m rpfilter --loose
:USER1
-m rpfilter --loose
*mangle
:PREROUTING,INPUT,FORWARD
-m rpfilter --validmark
*filter
:INPUT
-m rpfilter
*nat
:PREROUTING
-m rpfilter
