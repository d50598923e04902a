# -m nfacct: counts into an nfacct object, which must exist (the objects below do)
@nfacct add web
@nfacct add 0123456789012345678901234567890
*filter
:INPUT,FORWARD,OUTPUT,USER1
-m nfacct --nfacct-name web
*filter
:INPUT
-m nfacct --nfacct-name nope
-m nfacct
-m nfacct --nfacct-name web --nfacct-name web
-m nfacct ! --nfacct-name web
-m nfacct --nfacct-name 0123456789012345678901234567890
-m nfacct --nfacct-name 01234567890123456789012345678901
-m nfacct --nfacct-name 0123456789012345678901234567890123
-p tcp --dport 80 -m nfacct --nfacct-name web -j ACCEPT
-m nfacct --nfacct-name web -m nfacct --nfacct-name web
*nat
:PREROUTING,POSTROUTING
-m nfacct --nfacct-name web
*mangle
:PREROUTING
-m nfacct --nfacct-name web -j MARK --set-mark 1
*raw
:PREROUTING
-m nfacct --nfacct-name web
