# -m connlabel (xt_connlabel): conntrack label bits 0..127.  Recorded without /etc/xtables/connlabel.conf:
# iptables then takes numbers only (a name is refused) and saves and lists the bit number.
*filter
:INPUT,OUTPUT,FORWARD
-m connlabel --label 0
-m connlabel --label 1 --set
-m connlabel ! --label 127
-m connlabel ! --label 5 --set
-m connlabel --label 128
-m connlabel --label 0x10
-m connlabel --label 010
-m connlabel --label 65535
-m connlabel --label 65536
-m connlabel --label 65663
-m connlabel --label 4294967296
-m connlabel --label -1
-m connlabel --label ""
-m connlabel --label foo
-m connlabel --label 1x
-m connlabel --set
-m connlabel
-m connlabel --label 1 --label 2
-m connlabel --label 1 --set --set
-m connlabel --label ! 1
-m connlabel --label 1 ! --set
*raw
:PREROUTING,OUTPUT
-m connlabel --label 3
*nat
:PREROUTING,POSTROUTING
-m connlabel --label 3 --set
