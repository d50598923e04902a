# -j NFLOG (xt_NFLOG): group, prefix, range/size, threshold
*filter
:INPUT,OUTPUT
-j NFLOG
-j NFLOG --nflog-group 5
-j NFLOG --nflog-group 0
-j NFLOG --nflog-group 65535
-j NFLOG --nflog-group 65536
-j NFLOG --nflog-group 0x10
-j NFLOG --nflog-group 010
-j NFLOG --nflog-group -1
-j NFLOG --nflog-prefix foo
-j NFLOG --nflog-prefix "two words"
-j NFLOG --nflog-prefix ""
-j NFLOG --nflog-prefix 1234567890123456789012345678901234567890123456789012345678901234567890
-j NFLOG --nflog-range 128
-j NFLOG --nflog-size 128
-j NFLOG --nflog-size 0
-j NFLOG --nflog-size 4294967295
-j NFLOG --nflog-size 4294967296
-j NFLOG --nflog-range 0
-j NFLOG --nflog-range 64 --nflog-size 64
-j NFLOG --nflog-threshold 1
-j NFLOG --nflog-threshold 0
-j NFLOG --nflog-threshold 20
-j NFLOG --nflog-threshold 65536
-j NFLOG --nflog-group 2 --nflog-prefix "x y" --nflog-size 256 --nflog-threshold 10
-j NFLOG --nflog-group 1 --nflog-group 2
-j NFLOG ! --nflog-group 1
-j NFLOG --nflog-g 3
-j NFLOG --nflog-group abc
*raw
:PREROUTING
-j NFLOG --nflog-group 7
*nat
:POSTROUTING
-j NFLOG
