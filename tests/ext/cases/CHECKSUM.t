# -j CHECKSUM (xt_CHECKSUM): --checksum-fill, mangle only
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j CHECKSUM
-j CHECKSUM --checksum-fill
-p udp -j CHECKSUM --checksum-fill
-j CHECKSUM --checksum-fill --checksum-fill
-j CHECKSUM ! --checksum-fill
-j CHECKSUM --checksum
-j CHECKSUM --checksum-fill=1
*filter
:INPUT
-j CHECKSUM --checksum-fill
*mangle
:USER1
-j CHECKSUM --checksum-fill
*raw
:OUTPUT
-j CHECKSUM --checksum-fill
