# -j LOG (xt_LOG): --log-level names and numbers, --log-prefix quoting and truncation, flags
*filter
:INPUT,OUTPUT
-j LOG
-j LOG --log-level 4
-j LOG --log-level 0
-j LOG --log-level 7
-j LOG --log-level 8
-j LOG --log-level 07
-j LOG --log-level 0x3
-j LOG --log-level emerg
-j LOG --log-level alert
-j LOG --log-level crit
-j LOG --log-level error
-j LOG --log-level err
-j LOG --log-level warning
-j LOG --log-level warn
-j LOG --log-level notice
-j LOG --log-level info
-j LOG --log-level debug
-j LOG --log-level panic
-j LOG --log-level DEBUG
-j LOG --log-level -1
-j LOG --log-prefix foo
-j LOG --log-prefix "IN DROP: "
-j LOG --log-prefix 'say "hi"'
-j LOG --log-prefix "back\\slash it's"
-j LOG --log-prefix ""
-j LOG --log-prefix 123456789012345678901234567890
-j LOG --log-prefix 12345678901234567890123456789
-j LOG --log-tcp-sequence
-j LOG --log-tcp-options
-j LOG --log-ip-options
-j LOG --log-uid
-j LOG --log-macdecode
-j LOG --log-prefix x --log-level debug --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode
-j LOG --log-uid --log-uid
-j LOG --log-level 1 --log-level 2
-j LOG ! --log-uid
-j LOG --log-pre abc --log-lev info
-j LOG --log-tcp
-j LOG --bogus
-p tcp -j LOG --log-tcp-options --dport 22
*mangle
:PREROUTING,POSTROUTING
-j LOG --log-prefix mangle
*nat
:PREROUTING
-j LOG --log-level 6
*raw
:PREROUTING
-j LOG
