# -m set: ipset membership (revision 4 here); the sets below exist in the kernel
@ipset create KUBE-CLUSTER-IP hash:ip,port
@ipset create TESTNET hash:net
@ipset create TESTLIST list:set
@ipset create TESTNET6 hash:net family inet6
*filter
:INPUT,OUTPUT,USER1
-m set --match-set KUBE-CLUSTER-IP dst,dst
*filter
:INPUT
-m set ! --match-set TESTNET src
-m set --match-set NOPE src
-m set --match-set TESTNET6 src
-m set --match-set TESTNET src,dst,src,dst,src,dst,src
-m set --match-set TESTNET src,dst,src,dst,src,dst
-m set --match-set TESTNET bogus
-m set --match-set TESTLIST src,dst,dst
-m set --match-set TESTNET src --return-nomatch
-m set --match-set TESTNET src ! --update-counters
-m set --match-set TESTNET src ! --update-subcounters
-m set --match-set TESTNET src --packets-eq 5
-m set --match-set TESTNET src ! --packets-gt 5
-m set --match-set TESTNET src --packets-lt 5
-m set --match-set TESTNET src ! --bytes-eq 100
-m set --match-set TESTNET src --bytes-gt 0x100
-m set --match-set TESTNET src --bytes-lt 100
-m set --match-set TESTNET src --packets-eq 5 --packets-gt 3
-m set --match-set TESTNET src --packets-gt 5 --packets-lt 3
-m set --set TESTNET src
-m set
-m set --match-set TESTNET
-m set --match-set TESTNET src --match-set TESTNET dst
-m set --match-set KUBE-CLUSTER-IP dst,dst -m set --match-set TESTNET src
-m set --match-set TESTNET src ! --return-nomatch
-m set --match-set TESTNET src --packets-eq abc
