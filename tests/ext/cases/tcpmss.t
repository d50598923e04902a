# -m tcpmss: MSS option value or range; needs -p tcp
*filter
:INPUT,FORWARD
-p tcp -m tcpmss --mss 1400
-p tcp -m tcpmss --mss 1000:1500
-p tcp -m tcpmss ! --mss 536
-p tcp -m tcpmss --mss 1500:1000
-p tcp -m tcpmss --mss 1400:
-p tcp -m tcpmss --mss :1400
-p tcp -m tcpmss --mss 0x10
-p tcp -m tcpmss --mss 010
-p tcp -m tcpmss --mss 65536
-p tcp -m tcpmss --mss 1:2:3
-p tcp -m tcpmss --mss 5:5
-p tcp -m tcpmss --mss x
-p tcp -m tcpmss
-p tcp -m tcpmss --mss 1 --mss 2
-p tcp -m tcpmss --mss ! 1400
-m tcpmss --mss 1400
-p udp -m tcpmss --mss 1400
! -p tcp -m tcpmss --mss 1400
-p tcp --syn -m tcpmss --mss 1400:1536 -j DROP
:USER1
-m tcpmss --mss 1400
