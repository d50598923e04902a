# -m hashlimit: per-flow token buckets (revision 3 here)
*filter
:INPUT,OUTPUT,USER1
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl1
*filter
:INPUT
-m hashlimit --hashlimit-above 5/s --hashlimit-name hl2
-m hashlimit --hashlimit 5/s --hashlimit-name hl3
-m hashlimit --hashlimit-upto 5/s
-m hashlimit --hashlimit-name hl4
-m hashlimit --hashlimit-upto 5/s --hashlimit-above 5/s --hashlimit-name hl5
-m hashlimit --hashlimit-upto 100/min --hashlimit-burst 20 --hashlimit-name hl6
-m hashlimit --hashlimit-upto 1/hour --hashlimit-mode srcip,dstport --hashlimit-name hl7
-m hashlimit --hashlimit-upto 3/day --hashlimit-mode srcip,dstip,srcport,dstport --hashlimit-name hl8
-m hashlimit --hashlimit-upto 5/s --hashlimit-mode bogus --hashlimit-name hl9
-m hashlimit --hashlimit-upto 5/s --hashlimit-mode srcip --hashlimit-srcmask 24 --hashlimit-name hl10
-m hashlimit --hashlimit-upto 5/s --hashlimit-mode dstip --hashlimit-dstmask 16 --hashlimit-name hl11
-m hashlimit --hashlimit-upto 5/s --hashlimit-srcmask 33 --hashlimit-name hl12
-m hashlimit --hashlimit-upto 5/s --hashlimit-srcmask 0 --hashlimit-dstmask 32 --hashlimit-name hl13
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl14 --hashlimit-htable-size 1024 --hashlimit-htable-max 2048 --hashlimit-htable-expire 30000 --hashlimit-htable-gcinterval 500
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl15 --hashlimit-htable-gcinterval 0
-m hashlimit --hashlimit-upto 1000kb/s --hashlimit-name hl16
-m hashlimit --hashlimit-upto 1mb/s --hashlimit-burst 2mb --hashlimit-name hl17
-m hashlimit --hashlimit-above 512b/s --hashlimit-name hl18
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl19 --hashlimit-rate-match
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl20 --hashlimit-rate-match --hashlimit-rate-interval 10
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl21 --hashlimit-rate-interval 10
-m hashlimit --hashlimit-upto 5/s --hashlimit-name abcdefghijklmnopqrstuvwxyz
-m hashlimit --hashlimit-upto 5/s --hashlimit-name abcdefghijklmno
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl22 ! --hashlimit-mode srcip
-m hashlimit ! --hashlimit-upto 5/s --hashlimit-name hl23
-m hashlimit --hashlimit-upto 0x10/s --hashlimit-name hl24
-m hashlimit --hashlimit-upto 1000000/s --hashlimit-name hl25
-m hashlimit --hashlimit-upto 0/s --hashlimit-name hl26
-m hashlimit --hashlimit-upto 7/min --hashlimit-burst 0 --hashlimit-name hl27
-m hashlimit --hashlimit-upto 7/min --hashlimit-burst 0x10 --hashlimit-name hl28
-m hashlimit --hashlimit-upto 50kb/s --hashlimit-burst 1kb --hashlimit-name hl29
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl30 --hashlimit-rate-interval 0 --hashlimit-rate-match
-m hashlimit --hashlimit-upto 2/sec --hashlimit-name hl31 --hashlimit-htable-expire 0x100
# the kernel truncates htable-size/htable-max above 1048576 in the stored rule
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl40 --hashlimit-htable-size 2097152 --hashlimit-htable-max 3000000
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl41 --hashlimit-htable-size 1048576 --hashlimit-htable-max 1048577
-m hashlimit --hashlimit-upto 5/s --hashlimit-name hl42 --hashlimit-htable-size 4294967295
