# -m helper (xt_helper): the connection's helper name
*filter
:INPUT,OUTPUT
-m helper --helper ftp
-m helper ! --helper sip
-m helper --helper ftp-21
-m helper --helper "a b"
-m helper --helper ""
-m helper --helper 'x"y'
-m helper --helper 0123456789abcdefghijklmnopqrstu
-m helper --helper 0123456789abcdefghijklmnopqrstuv
-m helper --helper ! ftp
-m helper
-m helper --helper ftp --helper sip
-m helper --hel irc
*raw
:PREROUTING,OUTPUT
-m helper --helper ftp
