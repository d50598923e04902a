# -j TCPOPTSTRIP (xt_TCPOPTSTRIP): mangle only, -p tcp
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-p tcp -j TCPOPTSTRIP --strip-options mss
*mangle
:FORWARD
-p tcp -j TCPOPTSTRIP --strip-options wscale,mss,sack-permitted,sack,timestamp,md5
-p tcp -j TCPOPTSTRIP --strip-options 2,3,4,5,8,19
-p tcp -j TCPOPTSTRIP --strip-options timestamp,2
-p tcp -j TCPOPTSTRIP --strip-options 255
-p tcp -j TCPOPTSTRIP --strip-options 254,30,7
-p tcp -j TCPOPTSTRIP --strip-options 0x1e
-p tcp -j TCPOPTSTRIP --strip-options 010
-p tcp -j TCPOPTSTRIP --strip-options 256
-p tcp -j TCPOPTSTRIP --strip-options 0
-p tcp -j TCPOPTSTRIP --strip-options 1
-p tcp -j TCPOPTSTRIP --strip-options mss,mss
-p tcp -j TCPOPTSTRIP --strip-options mss,2
-p tcp -j TCPOPTSTRIP --strip-options MSS
-p tcp -j TCPOPTSTRIP --strip-options bogus
-p tcp -j TCPOPTSTRIP --strip-options mss,
-p tcp -j TCPOPTSTRIP --strip-options ,mss
-p tcp -j TCPOPTSTRIP --strip-options ""
-p tcp -j TCPOPTSTRIP --strip-options -3
-p tcp -j TCPOPTSTRIP --strip-options mss --strip-options sack
-p tcp -j TCPOPTSTRIP
-p tcp -j TCPOPTSTRIP ! --strip-options mss
-p udp -j TCPOPTSTRIP --strip-options mss
! -p tcp -j TCPOPTSTRIP --strip-options mss
-j TCPOPTSTRIP --strip-options mss
-p tcp --syn -j TCPOPTSTRIP --strip-options sack-permitted,timestamp
*filter
:FORWARD
-p tcp -j TCPOPTSTRIP --strip-options mss
*raw
:PREROUTING
-p tcp -j TCPOPTSTRIP --strip-options mss
*mangle
:FORWARD
-p tcp -j TCPOPTSTRIP --strip-options 2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,64,128,200,250,253,254,255
-p tcp -j TCPOPTSTRIP --strip-options sack-permitted,sack-permitted
-p tcp -j TCPOPTSTRIP --strip-options " mss"
