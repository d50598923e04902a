# -m osf (xt_osf): passive OS fingerprint of TCP SYNs; needs -p tcp, PREROUTING/INPUT/FORWARD only
*filter
:INPUT,FORWARD
-p tcp -m osf --genre Linux
-p tcp -m osf ! --genre Windows
-p tcp -m osf --genre Linux --ttl 0
-p tcp -m osf --genre Linux --ttl 2 --log 1
-p tcp -m osf --genre Linux --log 0
-p tcp -m osf --genre Linux --ttl 3
-p tcp -m osf --genre Linux --log 3
-p tcp -m osf --genre Linux --ttl -1
-p tcp -m osf --genre "Linux 2.6"
-p tcp -m osf --genre ""
-p tcp -m osf --genre 0123456789012345678901234567890
-p tcp -m osf --genre 01234567890123456789012345678901
-p tcp -m osf --ttl 1
-p tcp -m osf
-p tcp -m osf --genre a --genre b
-p tcp -m osf --genre ! Linux
-p tcp -m osf --genre Linux ! --ttl 1
-m osf --genre Linux
-p udp -m osf --genre Linux
! -p tcp -m osf --genre Linux
-p 6 -m osf --genre Linux
:OUTPUT
-p tcp -m osf --genre Linux
*mangle
:PREROUTING
-p tcp -m osf --genre Linux
*mangle
:POSTROUTING
-p tcp -m osf --genre Linux
