# -j TPROXY (revision 1): mangle PREROUTING only, with -p tcp or -p udp (kernel check)
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-p tcp -j TPROXY --on-port 3129 --tproxy-mark 0x1/0x1
-p udp -j TPROXY --on-port 53 --on-ip 10.233.0.1
-j TPROXY --on-port 80
*mangle
:PREROUTING,USER1
-p tcp -m tcp --dport 80 -j TPROXY --on-port 0 --on-ip 10.233.0.1 --tproxy-mark 0x10
-p tcp -j TPROXY --on-port http
-p tcp -j TPROXY --on-port 010
-p tcp -j TPROXY --on-port 65535
-p tcp -j TPROXY --on-port 65536
-p tcp -j TPROXY --on-port 70000
-p tcp -j TPROXY --on-port +80
-p tcp -j TPROXY --on-port 4294967296
-p tcp -j TPROXY --on-port 0x50
-p tcp -j TPROXY --on-port -1
-p tcp -j TPROXY --on-port ""
-p tcp -j TPROXY --on-port nosuchservice
-p tcp -j TPROXY --on-ip 10.233.0.1
-p tcp -j TPROXY --on-port 80 --on-ip 10.233
-p tcp -j TPROXY --on-port 80 --on-ip 0x0a.233.0.1
-p tcp -j TPROXY --on-port 80 --on-ip 10.233.0.300
-p tcp -j TPROXY --on-port 80 --on-ip 10.233.0.0/24
-p tcp -j TPROXY --on-port 80 --tproxy-mark 0xffffffff/0xffffffff
-p tcp -j TPROXY --on-port 80 --tproxy-mark 010/0x0
-p tcp -j TPROXY --on-port 80 --tproxy-mark 0x100000000
-p tcp -j TPROXY --on-port 80 --tproxy-mark 1/
-p tcp -j TPROXY --on-port 80 --tproxy-mark x
-p tcp -j TPROXY --on-port 80 --on-port 81
-p tcp -j TPROXY ! --on-port 80
-p tcp -j TPROXY --on 80 --tp 0x2
! -p tcp -j TPROXY --on-port 80
-p sctp -j TPROXY --on-port 80
*nat
:PREROUTING
-p tcp -j TPROXY --on-port 80
