# -j NOTRACK (CT rev 2 alias): no options, raw table only
*raw
:PREROUTING,OUTPUT,USER1
-j NOTRACK
-p udp --dport 53 -j NOTRACK
-j NOTRACK --notrack
-j NOTRACK --helper ftp
-j NOTRACK --bogus
*filter
:INPUT,OUTPUT
-j NOTRACK
*mangle
:PREROUTING
-j NOTRACK
*nat
:OUTPUT
-j NOTRACK
