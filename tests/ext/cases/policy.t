# -m policy: IPsec policy of the packet; --dir in: PREROUTING/INPUT/FORWARD, out: POSTROUTING/OUTPUT/FORWARD
*filter
:INPUT,OUTPUT,FORWARD,USER1
-m policy --dir in --pol ipsec
-m policy --dir out --pol ipsec
-m policy --dir in --pol none
*filter
:INPUT
-m policy --pol ipsec
-m policy --dir in
-m policy --dir in --pol ipsec --strict --reqid 1 --spi 0x100 --proto esp --mode tunnel --tunnel-src 10.233.0.1 --tunnel-dst 10.233.0.2
-m policy --dir in --pol ipsec --strict --reqid 1 --next --reqid 2 --proto ah --mode transport
-m policy --dir in --pol ipsec --reqid 1 --next --reqid 2
-m policy --dir in --pol ipsec --strict ! --reqid 1 ! --spi 2 ! --proto esp ! --mode tunnel ! --tunnel-src 10.233.0.0/16 ! --tunnel-dst 10.233.1.0/24
-m policy --dir in --pol ipsec --mode tunnel --tunnel-src 10.233.0.1
-m policy --dir in --pol ipsec --tunnel-src 10.233.0.1
-m policy --dir in --pol ipsec --proto tcp
-m policy --dir in --pol ipsec --proto 50
-m policy --dir in --pol ipsec --proto ipcomp
-m policy --dir in --pol bogus
-m policy --dir sideways --pol none
-m policy --dir in --pol none --strict
-m policy --dir in --pol none --reqid 5
-m policy --dir in --pol ipsec --mode bogus
-m policy --dir in --pol ipsec --spi 4294967296
-m policy --dir in --pol ipsec --reqid 010
-m policy --dir in --pol ipsec --strict --next
-m policy --dir in --pol ipsec --strict --reqid 1 --next
-m policy --dir in --pol ipsec --strict --reqid 1 --next --reqid 2 --next --reqid 3 --next --reqid 4 --next --reqid 5
-m policy --dir in --pol ipsec --strict --reqid 1 --next --reqid 2 --next --reqid 3 --next --reqid 4
-m policy --dir in --pol ipsec --tunnel-src 10.233.0.0/255.255.0.255 --mode tunnel
-m policy --dir in --pol ipsec --mode tunnel --tunnel-src 10.233.1.5/24 ! --tunnel-dst 10.233.2.0/255.255.255.0
-m policy --dir in --pol ipsec --strict --reqid 1 --reqid 2
-m policy --dir in --pol ipsec ! --mode transport --tunnel-dst 10.233.0.9
-m policy --dir in --dir out --pol ipsec
*mangle
:PREROUTING,POSTROUTING
-m policy --dir out --pol none
