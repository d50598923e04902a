# -j IDLETIMER (xt_IDLETIMER revision 1): a named timer in sysfs; labels are global to the host
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-j IDLETIMER --timeout 60 --label pynfB_idle1
*filter
:INPUT,FORWARD,OUTPUT
-j IDLETIMER --timeout 60 --label pynfB_idle2
*raw
:PREROUTING,OUTPUT
-j IDLETIMER --timeout 60 --label pynfB_idle3
*nat
:PREROUTING,POSTROUTING
-j IDLETIMER --timeout 60 --label pynfB_idle4
*filter
:FORWARD
-j IDLETIMER --timeout 1 --label pynfB_a
-j IDLETIMER --timeout 0 --label pynfB_a
-j IDLETIMER --timeout 2147482 --label pynfB_a
-j IDLETIMER --timeout 2147483 --label pynfB_a
-j IDLETIMER --timeout 4294967295 --label pynfB_a
-j IDLETIMER --timeout 4294967296 --label pynfB_a
-j IDLETIMER --timeout -1 --label pynfB_a
-j IDLETIMER --timeout 0x10 --label pynfB_a
-j IDLETIMER --timeout 10 --label pynfB_b --alarm
-j IDLETIMER --timeout 10 --label pynfB_c --send_nl_msg
-j IDLETIMER --timeout 10 --label pynfB_d --alarm --send_nl_msg
-j IDLETIMER --timeout 10 --label pynfB_abcdefghijklmnopqrs
-j IDLETIMER --timeout 10 --label pynfB_abcdefghijklmnopqrst
-j IDLETIMER --timeout 10 --label pynfB_abcdefghijklmnopqrstu
-j IDLETIMER --timeout 10 --label ""
-j IDLETIMER --timeout 10 --label .
-j IDLETIMER --timeout 10 --label ..
-j IDLETIMER --timeout 10 --label pynfB/x
-j IDLETIMER --timeout 10 --label "pynfB x"
-j IDLETIMER --timeout 10
-j IDLETIMER --label pynfB_e
-j IDLETIMER
-j IDLETIMER --timeout 10 --timeout 20 --label pynfB_e
-j IDLETIMER ! --timeout 10 --label pynfB_e
-j IDLETIMER --timeout 10 --label pynfB_abcdefghijklmnopqrstuv
-j IDLETIMER --timeout 10 --label pynfB_abcdefghijklmnopqrstuvwxyz0123456789
-j IDLETIMER --timeout 10 --label pynfB_f --alarm --alarm
-j IDLETIMER --timeout 10 --label pynfB_g ! --alarm
