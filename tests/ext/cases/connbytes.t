# -m connbytes (xt_connbytes): per-connection byte/packet counters
*filter
:INPUT,OUTPUT
-m connbytes --connbytes 10 --connbytes-dir original --connbytes-mode packets
-m connbytes --connbytes 10:100 --connbytes-dir reply --connbytes-mode bytes
-m connbytes --connbytes 0:500 --connbytes-dir both --connbytes-mode avgpkt
-m connbytes ! --connbytes 10:100 --connbytes-dir both --connbytes-mode bytes
-m connbytes ! --connbytes 10 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 100:10 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 0x10:010 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 0 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 0:0 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 10:10 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 5:x --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 18446744073709551615 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 18446744073709551616 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 5:18446744073709551615 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes :100 --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 100: --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes x --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 10 --connbytes-dir BOTH --connbytes-mode bytes
-m connbytes --connbytes 10 --connbytes-dir both --connbytes-mode pkts
-m connbytes --connbytes 10 --connbytes-dir both
-m connbytes --connbytes 10 --connbytes-mode bytes
-m connbytes --connbytes-dir both --connbytes-mode bytes
-m connbytes --connbytes 10 --connbytes-dir both ! --connbytes-mode bytes
-m connbytes --connbytes 10 --connbytes-d both --connbytes-m packets
