# -j REDIRECT (revision 0): nat PREROUTING/OUTPUT only
*nat
:PREROUTING,OUTPUT,INPUT,POSTROUTING,USER1
-p tcp --dport 80 -j REDIRECT --to-ports 3128
-j REDIRECT
*nat
:PREROUTING,USER1
-p udp -j REDIRECT --to-ports 5353 --random
-p tcp -j REDIRECT --to-ports 8000-8010
-p tcp -j REDIRECT --to-ports 8000-8000
-p tcp -j REDIRECT --to-ports 0x1F90
-p tcp -j REDIRECT --to-ports http
-p tcp -j REDIRECT --to-port 8080
-p tcp -j REDIRECT --random
-p tcp -j REDIRECT --to-ports 8000-8010/9000
-p tcp -j REDIRECT --to-ports 8000:8010
-p tcp -j REDIRECT --to-ports 8010-8000
-p tcp -j REDIRECT --to-ports 65536
-p tcp -j REDIRECT --to-ports 10.233.0.1
-j REDIRECT --to-ports 8080
-p tcp -j REDIRECT --to-ports 8080 --random-fully
-p tcp -j REDIRECT --to-ports 8080 --to-ports 8081
*filter
:OUTPUT
-p tcp -j REDIRECT --to-ports 8080
