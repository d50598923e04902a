# -j TCPMSS: needs -p tcp and a tcp SYN match (kernel); clamping only from FORWARD/OUTPUT/POSTROUTING
*mangle
:FORWARD,POSTROUTING,OUTPUT,PREROUTING,INPUT,USER1
-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-p tcp --syn -j TCPMSS --set-mss 1400
*filter
:FORWARD,INPUT,USER1
-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 65535
-o ppp0 -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp
*filter
:FORWARD,USER1
-p tcp --syn -j TCPMSS --set-mss 0
-p tcp --syn -j TCPMSS --set-mss 0x578
-p tcp --syn -j TCPMSS --set-mss 010
-p tcp --syn -j TCPMSS --set-mss 65515
-p tcp --syn -j TCPMSS --set-mss 65516
-p tcp --syn -j TCPMSS --set-mss -1
-p tcp --syn -j TCPMSS --set-mss 1400 --clamp-mss-to-pmtu
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu --set-mss 1400
-p tcp --syn -j TCPMSS --set-mss 1400 --set-mss 1300
-p tcp --syn -j TCPMSS
-p tcp --syn -j TCPMSS ! --set-mss 1400
-p tcp --tcp-flags ALL SYN,ACK -j TCPMSS --set-mss 1400
-p tcp --tcp-flags SYN NONE -j TCPMSS --set-mss 1400
-p tcp ! --syn -j TCPMSS --set-mss 1400
-p tcp -j TCPMSS --set-mss 1400
-p tcp --dport 80 -j TCPMSS --set-mss 1400
-p tcp -m mark --mark 0x1 -j TCPMSS --set-mss 1400
-p udp -j TCPMSS --set-mss 1400
! -p tcp --syn -j TCPMSS --set-mss 1400
-j TCPMSS --set-mss 1400
*nat
:POSTROUTING
-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu
