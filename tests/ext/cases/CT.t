# -j CT (xt_CT rev 2): notrack, helper, timeout, ctevents, expevents, zones; raw only
*raw
:PREROUTING,OUTPUT
-j CT
-j CT --notrack
-j CT --notrack --helper bogus
-j CT --notrack --zone 5
-p tcp -j CT --helper ftp
-j CT --helper ftp
-p udp -j CT --helper ftp
-p udp -j CT --helper tftp
-p tcp -j CT --helper bogus
! -p tcp -j CT --helper ftp
-p tcp -j CT --helper ""
-p tcp -j CT --helper 1234567890123456789
-p tcp -j CT --timeout mypolicy
-p tcp -j CT --notrack --timeout mypolicy
-p tcp -j CT --helper FTP
-p tcp -j CT --helper sip
-p udp -j CT --helper sip
-p udp -j CT --helper amanda
-p tcp -j CT --helper irc
-p tcp -j CT --helper pptp
-p tcp -j CT --helper sane
-p udp -j CT --helper snmp
-p udp -j CT --helper snmp_trap
-p udp -j CT --helper netbios-ns
-p udp -j CT --helper RAS
-p tcp -j CT --helper Q.931
-p tcp -j CT --helper H.245
-p sctp -j CT --helper sip
-j CT --timeout mypolicy
-j CT --ctevents new
-j CT --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark
-j CT --ctevents mark,new
-j CT --ctevents new,new
-j CT --ctevents bogus
-j CT --ctevents NEW
-j CT --ctevents new,
-j CT --expevents new
-j CT --expevents related
-j CT --zone 0
-j CT --zone 1
-j CT --zone 65535
-j CT --zone 65536
-j CT --zone 0x10
-j CT --zone mark
-j CT --zone MARK
-j CT --zone-orig 3
-j CT --zone-reply 4
-j CT --zone-orig mark
-j CT --zone-reply 0
-j CT --zone-orig 1 --zone-reply 2
-j CT --zone 1 --zone 2
-j CT --zone abc
-j CT --notrack --notrack
-j CT ! --notrack
-p tcp -j CT --helper ftp --ctevents new,destroy --zone 7
-j CT --not
-j CT --zone-o 2
*raw
:USER1
-j CT --zone 3
*filter
:INPUT,OUTPUT
-j CT --notrack
*mangle
:PREROUTING
-j CT --zone 1
