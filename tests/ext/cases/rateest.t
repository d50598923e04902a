# -m rateest (xt_rateest): rate estimators made by -j RATEEST (the setup lines); a rule naming
# an estimator that does not exist is refused by the kernel
@iptables -t mangle -A POSTROUTING -j RATEEST --rateest-name E1 --rateest-interval 250ms --rateest-ewmalog 1s
@iptables -t mangle -A POSTROUTING -j RATEEST --rateest-name E2 --rateest-interval 1s --rateest-ewmalog 4s
*filter
:INPUT,FORWARD
-m rateest --rateest E1 --rateest-bps 1000 --rateest-lt
-m rateest --rateest E1 --rateest-lt --rateest-bps 1000
-m rateest --rateest E1 --rateest-bps1 --rateest-bps2 1mbit --rateest-gt
-m rateest --rateest E1 --rateest-bps 8mbit ! --rateest-eq
-m rateest --rateest E1 --rateest-bps 10Gbit --rateest-gt
-m rateest --rateest E1 --rateest-bps 1KBps --rateest-gt
-m rateest --rateest E1 --rateest-bps 1.5kibit --rateest-gt
-m rateest --rateest E1 --rateest-bps 100MBPS --rateest-lt
-m rateest --rateest E1 --rateest-bps 7 --rateest-lt
-m rateest --rateest E1 --rateest-bps 1e3 --rateest-lt
-m rateest --rateest E1 --rateest-bps 1furlong --rateest-lt
-m rateest --rateest E1 --rateest-bps x --rateest-lt
-m rateest --rateest E1 --rateest-pps 10 --rateest-eq
-m rateest --rateest E1 --rateest-pps 0x10 --rateest-gt
-m rateest --rateest E1 --rateest-pps 4294967296 --rateest-gt
-m rateest --rateest E1 --rateest-pps -1 --rateest-gt
-m rateest --rateest E1 --rateest-pps 10 ! --rateest-lt
-m rateest --rateest E1 --rateest-pps --rateest-eq 10
-m rateest --rateest E1 --rateest-bps 1000 --rateest-pps 10 --rateest-lt
-m rateest --rateest1 E1 --rateest2 E2 --rateest-bps --rateest-gt
-m rateest --rateest1 E1 --rateest2 E2 --rateest-pps ! --rateest-eq
-m rateest --rateest1 E1 --rateest2 E1 --rateest-bps --rateest-pps --rateest-lt
-m rateest --rateest1 E1 --rateest-delta --rateest-bps1 100kbit --rateest2 E2 --rateest-bps2 200kbit ! --rateest-lt
-m rateest --rateest E1 --rateest-delta --rateest-pps1 5 --rateest-pps2 10 --rateest-gt
-m rateest --rateest E1 --rateest-delta --rateest-bps1 5mbit --rateest-bps2 --rateest-eq
-m rateest --rateest E1 --rateest-lt --rateest-gt --rateest-bps 1
-m rateest --rateest E3 --rateest-bps 1 --rateest-lt
-m rateest --rateest1 E1 --rateest2 E3 --rateest-bps --rateest-lt
-m rateest --rateest E1 --rateest-lt
-m rateest --rateest E1 --rateest-bps 1
-m rateest --rateest-bps 1 --rateest-lt
-m rateest
-m rateest --rateest E1 --rateest1 E2 --rateest-bps 1 --rateest-lt
-m rateest --rateest E1 --rateest-bps 1 --rateest-bps 2 --rateest-lt
-m rateest --rateest E1 --rateest-bps 1 --rateest-lt --rateest-lt
-m rateest ! --rateest E1 --rateest-bps 1 --rateest-lt
-m rateest --rateest E1 ! --rateest-bps 1 --rateest-lt
-m rateest --rateest E1 ! --rateest-delta --rateest-bps 1 --rateest-lt
*mangle
:PREROUTING,OUTPUT
-m rateest --rateest E2 --rateest-pps 3 --rateest-gt
