# -m connlimit (xt_connlimit rev 1): connection count per address group
*filter
:INPUT,OUTPUT
-p tcp --syn -m connlimit --connlimit-above 10
-m connlimit --connlimit-upto 5
-m connlimit --connlimit-above 3 --connlimit-mask 24
-m connlimit --connlimit-upto 3 --connlimit-mask 0 --connlimit-daddr
-m connlimit --connlimit-daddr --connlimit-above 7 --connlimit-mask 16
-m connlimit --connlimit-above 3 --connlimit-saddr
-m connlimit --connlimit-above 0x10 --connlimit-mask 010
-m connlimit --connlimit-above 4294967295
-m connlimit --connlimit-above 4294967296
-m connlimit --connlimit-above -1
-m connlimit --connlimit-above 3 --connlimit-mask 33
-m connlimit --connlimit-above 3 --connlimit-mask 128
-m connlimit --connlimit-above 3 --connlimit-mask 129
-m connlimit --connlimit-above 3 --connlimit-mask 255.0.255.0
-m connlimit --connlimit-above 3 --connlimit-mask -1
-m connlimit --connlimit-above 3 --connlimit-mask 255.255.255.0
-m connlimit --connlimit-above 3 --connlimit-upto 4
-m connlimit --connlimit-mask 24
-m connlimit
-m connlimit --connlimit-above 3 --connlimit-saddr --connlimit-daddr
-m connlimit ! --connlimit-above 3
-m connlimit ! --connlimit-upto 3
-m connlimit --connlimit-above 3 --connlimit-above 4
-m connlimit --connlimit-ab 3 --connlimit-ma 16
-m connlimit --connlimit-above 3 --connlimit-mask 32 --connlimit-saddr
