# -m cpu (xt_cpu): the CPU handling the packet
*filter
:INPUT,OUTPUT
-m cpu --cpu 0
-m cpu ! --cpu 3
-m cpu --cpu 0x10
-m cpu --cpu 010
-m cpu --cpu 4294967295
-m cpu --cpu 4294967296
-m cpu --cpu -1
-m cpu --cpu x
-m cpu --cpu ! 1
-m cpu
-m cpu --cpu 1 --cpu 2
-m cpu --c 2
*raw
:PREROUTING
-m cpu --cpu 1 -j ACCEPT
