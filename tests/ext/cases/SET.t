# -j SET (xt_set target, revision 3): add/del packet fields to/from ipsets; --map-set only in mangle
@ipset create PYNF-IP hash:ip timeout 60
@ipset create PYNF-IPPORT hash:ip,port
@ipset create PYNF-NET hash:net
@ipset create PYNF-LIST list:set
@ipset create PYNF-NET6 hash:net family inet6
@ipset create PYNF-MAP hash:ip skbinfo
*filter
:INPUT,FORWARD,OUTPUT,USER1
-j SET --add-set PYNF-IP src
-j SET --del-set PYNF-IP dst
*nat
:PREROUTING,INPUT,OUTPUT,POSTROUTING
-j SET --add-set PYNF-IP src
*raw
:PREROUTING,OUTPUT
-j SET --add-set PYNF-IPPORT src,dst
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j SET --map-set PYNF-MAP dst --map-mark
-j SET --map-set PYNF-MAP dst --map-prio
-j SET --map-set PYNF-MAP dst --map-queue
-j SET --map-set PYNF-MAP dst --map-mark --map-prio --map-queue
*filter
:INPUT
-j SET --map-set PYNF-MAP dst --map-mark
-j SET --add-set PYNF-IP src --exist
-j SET --add-set PYNF-IP src --timeout 10
-j SET --add-set PYNF-IP src --exist --timeout 0
-j SET --add-set PYNF-IP src --timeout 4294967294
-j SET --add-set PYNF-IP src --timeout 4294967295
-j SET --add-set PYNF-IP src --timeout -1
-j SET --add-set PYNF-IP src --timeout 0x10
-j SET --timeout 5 --add-set PYNF-IP src
-j SET --add-set PYNF-IP src --del-set PYNF-NET dst
-j SET --del-set PYNF-NET dst --add-set PYNF-IP src --exist
-j SET --add-set PYNF-IP src --add-set PYNF-NET dst
-j SET --del-set PYNF-IP src --exist
-j SET --del-set PYNF-IP src --timeout 5
-j SET --add-set PYNF-IPPORT src,dst
-j SET --add-set PYNF-IPPORT dst,src,dst
-j SET --add-set PYNF-NET src,dst,src,dst,src,dst
-j SET --add-set PYNF-NET src,dst,src,dst,src,dst,src
-j SET --add-set PYNF-NET bogus
-j SET --add-set PYNF-NET srcx
-j SET --add-set PYNF-LIST src
-j SET --add-set PYNF-NET6 src
-j SET --add-set PYNF-NOPE src
-j SET --add-set PYNF-IP
-j SET --add-set PYNF-IP -p
-j SET ! --add-set PYNF-IP src
-j SET --exist
-j SET
-j SET --map-mark
-j SET --map-set PYNF-MAP dst
-j SET --add-set PYNF-IP src --map-mark
-j SET --map-set PYNF-MAP dst --map-mark --exist
-j SET --add-set PYNF-IP src --del-set PYNF-IP src --map-set PYNF-MAP dst --map-mark
*mangle
:FORWARD
-j SET --add-set PYNF-IP src --del-set PYNF-IP src --map-set PYNF-MAP dst --map-mark --exist --timeout 7
-j SET --map-set PYNF-MAP src,dst --map-mark
-j SET --map-set PYNF-NOPE dst --map-mark
