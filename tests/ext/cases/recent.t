# -m recent: the address lists of xt_recent (revision 1)
*filter
:INPUT,OUTPUT,USER1
-m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap
*filter
:INPUT
-m recent --name KUBE-SEP-X --set
-m recent --set
-m recent --rcheck
-m recent --update --seconds 60 --hitcount 5
-m recent --remove
-m recent ! --rcheck --name a
-m recent --set --rcheck
-m recent
-m recent --rcheck --reap
-m recent --set --seconds 5
-m recent --rcheck --rttl
-m recent --set --rdest
-m recent --set --rsource
-m recent --set --rsource --rdest
-m recent --set --mask 255.255.255.0
-m recent --set --mask 255.0.255.0
-m recent --rcheck --hitcount 256
-m recent --rcheck --hitcount 20
-m recent --rcheck --hitcount 21
-m recent --set --name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
-m recent --set --name ""
-m recent --rcheck --seconds 0x10
-m recent --update --seconds 0
-m recent --remove --hitcount 2
-m recent --set --name a/b
-m recent --set ! --update
-m recent --rcheck --seconds 4294967295
