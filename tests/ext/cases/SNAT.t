# -j SNAT (xt_nat revision 0, nf_nat_ipv4_multi_range_compat): nat POSTROUTING/INPUT only
*nat
:POSTROUTING,INPUT,PREROUTING,OUTPUT,USER1
-o eth0 -s 10.233.1.0/24 -j SNAT --to-source 10.233.0.1
-p tcp -j SNAT --to-source 10.233.0.1:1024-2048 --random-fully
-j SNAT --to 10.233.0.1
*nat
:POSTROUTING,USER1
-j SNAT --to-source 10.233.0.1-10.233.0.9 --random --random-fully --persistent
-p udp -j SNAT --to-source :5000
-p udp -j SNAT --to-source 10.233.0.1:5000-5000
! -p tcp -j SNAT --to-source 10.233.0.1:5000
-p tcp -j SNAT --to-source 10.233.0.1:1000-2000/3000
-p tcp -j SNAT --to-source 10.233.0.1:0x400-02000
-p tcp -j SNAT --to-source 10.233.0.1:ssh
-j SNAT --to-source 10.233.0.1:1000
-j SNAT --to-source 10.233.0.1:1000 -p tcp
-p tcp -j SNAT --to-source 10.233.0.1:2000-1000
-p tcp -j SNAT --to-source 10.233.0.1:-1
-j SNAT --to-source 10.233.0.1 --to-source 10.233.0.2
-j SNAT --to-source 10.233.0.1/24
-j SNAT --to-source 10.233.0.1-10.233.0.2-10.233.0.3
-j SNAT --to-destination 10.233.0.1
-j SNAT --random
-j SNAT --to-source 10.233.0.1 --persistent --persistent
-j SNAT --to-source 10.233.0.1 ! --random
*filter
:INPUT
-j SNAT --to-source 10.233.0.1
