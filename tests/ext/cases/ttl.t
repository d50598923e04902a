# -m ttl: --ttl-eq / --ttl-lt / --ttl-gt
*filter
:INPUT,OUTPUT
-m ttl --ttl-eq 64
-m ttl ! --ttl-eq 64
-m ttl --ttl-lt 10
-m ttl --ttl-gt 200
-m ttl --ttl 5
-m ttl ! --ttl 5
-m ttl ! --ttl-lt 5
-m ttl ! --ttl-gt 5
-m ttl --ttl-eq 255
-m ttl --ttl-eq 256
-m ttl --ttl-eq 0x40
-m ttl --ttl-eq 010
-m ttl --ttl-eq 0
-m ttl --ttl-eq -1
-m ttl --ttl-eq 1x
-m ttl --ttl-eq 1 --ttl-lt 2
-m ttl --ttl-eq 1 --ttl-eq 2
-m ttl --ttl-eq 1 --ttl 2
-m ttl
-m ttl --ttl-e 3
-m ttl --ttl-eq ! 3
*mangle
:PREROUTING,POSTROUTING
-m ttl --ttl-lt 2
