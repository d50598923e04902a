# -m sctp: ports and chunk types; implicit load by -p sctp
*filter
:INPUT,OUTPUT
-p sctp --dport 80
-p sctp -m sctp --sport 1:1023
-p sctp ! --dport 5000:
-p sctp --dport :1024
-p sctp --dport 1024:80
-p sctp --dport ! 80
-p sctp --dport 0:65535
-p sctp ! --sport 0:65535
-p sctp --dport 80 --dport 81
-p sctp -m sctp
-p sctp --chunk-types any INIT,COOKIE_ECHO
-p sctp --chunk-types all DATA:Be,SACK
-p sctp --chunk-types only ABORT:T,shutdown_complete:t
-p sctp ! --chunk-types ANY ALL
-p sctp --chunk-types all NONE
-p sctp --chunk-types any I_DATA:I
-p sctp --chunk-types any ASCONF,ASCONF_ACK,FORWARD_TSN,RE_CONFIG,PAD,I_FORWARD_TSN
-p sctp --chunk-types some INIT
-p sctp --chunk-types any BOGUS
-p sctp --chunk-types any INIT:T
-p sctp --chunk-types any
-p sctp --chunk-types any INIT --chunk-types all DATA
-p sctp --sport 5 --dport 6 --chunk-types any HEARTBEAT,HEARTBEAT_ACK,ERROR,COOKIE_ACK,ECN_ECNE,ECN_CWR
-m sctp --dport 80
-p tcp -m sctp --dport 80
-p sctp --dport 65536
-p 132 --dport 80
:USER1
-m sctp --dport 80
