# -m dscp: --dscp value or --dscp-class name
*filter
:INPUT,OUTPUT
-m dscp --dscp 10
-m dscp --dscp 0x2e
-m dscp --dscp 010
-m dscp --dscp 63
-m dscp --dscp 64
-m dscp --dscp 0
-m dscp --dscp -1
-m dscp ! --dscp 1
-m dscp --dscp-class EF
-m dscp --dscp-class af41
-m dscp ! --dscp-class CS1
-m dscp --dscp-class BE
-m dscp --dscp-class BEER
-m dscp --dscp-class AF1
-m dscp --dscp-class cs7x
-m dscp --dscp-class bogus
-m dscp --dscp 1 --dscp-class EF
-m dscp --dscp-class EF --dscp 1
-m dscp --dscp 1 --dscp 2
-m dscp
-m dscp --dscp-c AF11
-m dscp --dscp ! 10
*mangle
:PREROUTING,POSTROUTING
-m dscp --dscp-class CS6
