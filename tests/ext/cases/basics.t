# The IP part of rules: -s/-d, -i/-o, -p, -f, -j/-g, core option spellings
*filter
:INPUT
# -s / -d addresses
-s 10.233.1.2
-s 10.233.1.2/32
-s 10.233.1.0/24
-s 10.233.1.7/24
-s 10.233
-s 10.233.1
-s 10
-s 10.233.1.2/255.255.255.0
-s 10.233.1.2/255.0.255.0
-s 10.233.1.2/0.0.0.255
-s 10.233.1.2/0
-s 0/0
-s 0.0.0.0/0
! -s 0/0
-s 10.233.1.2/33
-s 10.233.1.2/-1
-s 10.233.1.2/255.255
-s 10.233.1.2/
-s 0x0a.0351.010.1
-s 012.233.0.1
-s 10.233.0.256
-s 10.233.1.2.3
-s 10.233..1
-s 10.233.1.
-s bogus.invalid.
-s ""
-s 10.233.1.1,10.233.1.2
-s 10.233.1.1,10.233.1.1
-s 10.233.1.0/24,10.233.2.0/24 -d 10.233.3.1,10.233.4.1 -j ACCEPT
-s 10.233.1.1, 
-s 10.233.1.1,,10.233.1.2
! -s 10.233.1.1,10.233.1.2
! -s 10.233.1.2
-d 10.233.9.9/16
! -d 10.233.9.9/255.255.0.255
-s 10.233.1.1 -s 10.233.1.2
-d 10.233.1.1 ! -d 10.233.1.2
-s 10.233.1.2/08
-s 10.233.1.2/0x10
-s 255.255.255.255
-s 10.233.0.1/31
-d 10.233.0.1/1
# long forms and abbreviations
--source 10.233.1.1
--src 10.233.1.1
--sou 10.233.1.1
--s 10.233.1.1
--destination 10.233.1.1
--dst 10.233.1.1
--dest 10.233.1.1
--d 10.233.1.1
--source=10.233.1.1
--src=10.233.1.0/24
-s10.233.1.1
! --source 10.233.1.1
# -i / -o
-i eth0
-i eth+
-i +
! -i eth0
! -i eth+
! -i +
-i abcdefghijklmno
-i abcdefghijklmnop
-i ""
--in-interface eth1
--in eth1
--in-i eth1
-i eth0 -i eth1
-i eth0.100
-i eth0@x
-i lo+x
*filter
:FORWARD
-o eth0
-i eth0 -o eth1
! -o eth+
--out-interface ppp0
--out ppp0
-o abcdefghijklmno
-o abcdefghijklmnop
-i eth0 ! -o +
*filter
:INPUT
-o eth0
*filter
:OUTPUT
-i eth0
-o eth0
*filter
:USER1
-i eth0 -o eth1
*nat
:PREROUTING
-o eth0
-i eth0
*nat
:POSTROUTING
-i eth0
-o eth0
*mangle
:PREROUTING,INPUT
-o eth0
*mangle
:OUTPUT,POSTROUTING
-i eth0
*mangle
:FORWARD
-i eth0 -o eth1
*filter
:INPUT
# -p
-p tcp
-p udp
-p icmp
-p all
-p ALL
-p TCP
-p Udp
-p 6
-p 17
-p 0
-p 255
-p 256
-p -1
-p 0x11
-p 010
-p gre
-p 47
-p esp
-p ah
-p sctp
-p udplite
-p icmpv6
-p ipv6-icmp
-p ipv6
-p 41
-p 143
-p 200
-p 254
-p mh
-p ospf
-p bogus
-p ""
! -p tcp
! -p all
! -p 0
! -p udp -j DROP
--protocol tcp
--proto udp
--p tcp
-p tcp -p udp
-p tcp ! -p udp
# -f
-f
! -f
-f -f
-f -p tcp
--fragment
--fragm
--fragments
-p udp ! -f
# -j / -g
-j ACCEPT
-j DROP
-j RETURN
-j QUEUE
-j USER1
-g USER1
-j USER1 -j USER2
-j ACCEPT -j DROP
-j INPUT
-g INPUT
-g OUTPUT
-j OUTPUT
-g ACCEPT
-g DROP
-j NOSUCHTARGET
-g NOSUCHCHAIN
-j abcdefghijklmnopqrstuvwxyzABC
-j abcdefghijklmnopqrstuvwxyzAB
-j accept
-j ""
-j
--jump ACCEPT
--ju DROP
--goto USER2
--go USER2
! -j ACCEPT
! -g USER1
-p tcp -j USER1
-s 10.233.0.0/16 -g USER2
# -m
-m nosuchmatch
! -m tcp
-m
-m ""
--match nosuchmatch
# inversion and bad words
! ! -s 10.233.1.1
-s 10.233.1.1 !
!
! 
-s 10.233.1.1 bogus
bogus
-s 10.233.1.1 10.233.1.2
--bogus
-q
--
-s 10.233.1.1 -- -d 10.233.1.2
-!s 10.233.1.1
-s ! 10.233.1.1
-i ! eth0
-p ! tcp
# -c and -w
-c 10 20
-c 10 20 -j ACCEPT
-c 0x10 20
-c 10
-c a 20
-c 10 b
-c -1 20
-c 18446744073709551615 18446744073709551615
-c 18446744073709551616 1
--set-counters 5 6
--set 5 6
-c 1 2 -c 3 4
! -c 1 2
-w
-w 5
-w -s 10.233.1.1
-w 2 -W 100
-n
-v
-x
--line-numbers
-4
-6
*filter
:USER1
-j USER1
-g USER1
-j USER2
-g USER2
-s 10.233.1.1 -j RETURN
