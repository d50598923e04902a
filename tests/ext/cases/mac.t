# -m mac (xt_mac): source MAC address; PREROUTING, INPUT and FORWARD only
*filter
:INPUT,FORWARD
-m mac --mac-source 00:11:22:33:44:55
-m mac ! --mac-source aa:BB:cc:dd:ee:ff
-m mac --mac-source 0:1:2:3:4:5
-m mac --mac-source 0x0a:+1:2:3:4:0xff
-m mac --mac-source :::::
-m mac --mac-source -1:+2:A:b:' c':F
-m mac --mac-source 0x1:2:3:4:5:6
-m mac --mac-source 1:2:3:4:5:
-m mac --mac-source 1:2:3:4:5:6:
-m mac --mac-source 00:11:22:33:44
-m mac --mac-source 00:11:22:33:44:55:66
-m mac --mac-source 00-11-22-33-44-55
-m mac --mac-source 00:11:22:33:44:gg
-m mac --mac-source 100:11:22:33:44:55
-m mac --mac-source ! 00:11:22:33:44:55
-m mac
-m mac --mac-so 00:11:22:33:44:55
-m mac --mac-source 00:11:22:33:44:55 -j USER1
:OUTPUT
-m mac --mac-source 00:11:22:33:44:55
:USER1
-m mac --mac-source 00:11:22:33:44:55
*nat
:PREROUTING,POSTROUTING
-m mac --mac-source 00:11:22:33:44:55
