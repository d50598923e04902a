# -j DSCP (xt_DSCP): --set-dscp 0-63 or --set-dscp-class name; mangle only
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j DSCP
-j DSCP --set-dscp 0
-j DSCP --set-dscp 46
-j DSCP --set-dscp 63
-j DSCP --set-dscp 64
-j DSCP --set-dscp 0x2e
-j DSCP --set-dscp 010
-j DSCP --set-dscp-class EF
-j DSCP --set-dscp-class af41
-j DSCP --set-dscp-class CS7
-j DSCP --set-dscp-class BE
-j DSCP --set-dscp-class AF111
-j DSCP --set-dscp-class XX
-j DSCP --set-dscp-class AF1
-j DSCP --set-dscp 1 --set-dscp-class EF
-j DSCP --set-dscp 1 --set-dscp 2
-j DSCP ! --set-dscp 1
*filter
:INPUT
-j DSCP --set-dscp 1
*mangle
:USER1
-j DSCP --set-dscp 10
*nat
:POSTROUTING
-j DSCP --set-dscp 1
