# -j TOS (xt_TOS rev 1): --set-tos value[/mask] or symbol, --and/--or/--xor-tos; mangle only
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j TOS
-j TOS --set-tos 0x10
-j TOS --set-tos 0x10/0x3f
-j TOS --set-tos 0x10/0xff
-j TOS --set-tos 0x10/0x10
-j TOS --set-tos 16
-j TOS --set-tos 0x100
-j TOS --set-tos 0x10/0x100
-j TOS --set-tos 0x10/
-j TOS --set-tos Minimize-Delay
-j TOS --set-tos maximize-throughput
-j TOS --set-tos Maximize-Reliability
-j TOS --set-tos Minimize-Cost
-j TOS --set-tos Normal-Service
-j TOS --set-tos Bogus
-j TOS --set-tos 0x08/0x3f
-j TOS --set-tos 0/0x3f
-j TOS --and-tos 0x3
-j TOS --or-tos 0x4
-j TOS --xor-tos 0x2
-j TOS --and-tos 256
-j TOS --set-tos 0x10 --and-tos 1
-j TOS ! --set-tos 1
*filter
:INPUT
-j TOS --set-tos 0x10
*mangle
:USER1
-j TOS --or-tos 1
*raw
:PREROUTING
-j TOS --set-tos 0x10
