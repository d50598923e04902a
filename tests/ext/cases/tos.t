# -m tos (revision 1): value[/mask] or symbolic names
*filter
:INPUT,OUTPUT
-m tos --tos 0x10
-m tos --tos 0x10/0x3f
-m tos --tos Minimize-Delay
-m tos --tos maximize-throughput
-m tos --tos Maximize-Reliability
-m tos --tos Minimize-Cost
-m tos --tos Normal-Service
-m tos ! --tos 0x08/0x08
-m tos ! --tos Minimize-Cost
-m tos --tos 0x00/0x3f
-m tos --tos 16
-m tos --tos 0xff/0xff
-m tos --tos 256
-m tos --tos 0x10/0x100
-m tos --tos 16foo
-m tos --tos 0x10/
-m tos --tos bogus
-m tos --tos 0x04/0x3F
-m tos
-m tos --tos 1 --tos 2
-m tos --tos ! 0x10
*mangle
:PREROUTING,POSTROUTING
-m tos --tos 0x02/0x02
