# -m iprange (xt_iprange rev 1): source/destination address ranges
*filter
:INPUT,OUTPUT
-m iprange --src-range 10.233.0.1-10.233.0.9
-m iprange ! --dst-range 10.233.1.0-10.233.1.255
-m iprange --src-range 10.233.0.1-10.233.0.9 ! --dst-range 10.233.2.1-10.233.2.2
-m iprange --src-range 10.233.0.5
! -s 10.233.0.0/16 -m iprange ! --src-range 10.233.0.1-10.233.0.2
-m iprange --src-r 10.233.0.1-10.233.0.2 --dst-r 10.233.0.3
-m iprange --src-range 10.233.0.9-10.233.0.1
-m iprange --src-range 10.233.0.1-
-m iprange --src-range 10.233.0.1-10.233.0.300
-m iprange --src-range 10.233.0.0/24
-m iprange --src-range 10.233-10.233.0.0x10
-m iprange --src-range ! 10.233.0.1-10.233.0.2
-m iprange
-m iprange --src-range 10.233.0.1-10.233.0.2 --src-range 10.233.0.3-10.233.0.4
-m iprange --dst 10.233.0.1-10.233.0.2
-m iprange --src-range 10.233.0.1-10.233.0.2-10.233.0.3
