# -j NFQUEUE (xt_NFQUEUE rev 3): queue-num, queue-balance, queue-bypass, queue-cpu-fanout
*filter
:INPUT,OUTPUT
-j NFQUEUE
-j NFQUEUE --queue-num 0
-j NFQUEUE --queue-num 5
-j NFQUEUE --queue-num 65535
-j NFQUEUE --queue-num 65536
-j NFQUEUE --queue-num 0x20
-j NFQUEUE --queue-num 010
-j NFQUEUE --queue-num -1
-j NFQUEUE --queue-balance 0:3
-j NFQUEUE --queue-balance 2:2
-j NFQUEUE --queue-balance 3:1
-j NFQUEUE --queue-balance 5
-j NFQUEUE --queue-balance 1:65534
-j NFQUEUE --queue-balance 1:65535
-j NFQUEUE --queue-balance :4
-j NFQUEUE --queue-balance 4:
-j NFQUEUE --queue-balance 1:2:3
-j NFQUEUE --queue-num 1 --queue-balance 0:3
-j NFQUEUE --queue-bypass
-j NFQUEUE --queue-num 3 --queue-bypass
-j NFQUEUE --queue-balance 0:7 --queue-cpu-fanout
-j NFQUEUE --queue-balance 0:7 --queue-bypass --queue-cpu-fanout
-j NFQUEUE --queue-cpu-fanout
-j NFQUEUE --queue-num 2 --queue-cpu-fanout
-j NFQUEUE --fail-open
-j NFQUEUE --queue-num 1 --queue-num 2
-j NFQUEUE ! --queue-num 1
-j NFQUEUE --queue-n 4
-j NFQUEUE --queue-bypass --queue-bypass
*mangle
:PREROUTING,POSTROUTING
-j NFQUEUE --queue-num 9
*raw
:PREROUTING
-j NFQUEUE --queue-bypass
