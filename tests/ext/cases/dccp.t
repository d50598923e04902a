# -m dccp (xt_dccp): ports, packet types and an option number; needs -p dccp
*filter
:INPUT,OUTPUT
-p dccp -m dccp --sport 80
-p dccp -m dccp --dport 1000:2000
-p dccp -m dccp --source-port 1: --destination-port :1023
-p dccp -m dccp ! --sport 22 ! --dport 22
-p dccp -m dccp --sport 0:65535
-p dccp -m dccp ! --sport 0:65535
-p dccp -m dccp --dport ssh
-p dccp -m dccp --dport http
-p dccp -m dccp --dport 65536
-p dccp -m dccp --dport 5:3
-p dccp -m dccp --dport 3:3
-p dccp -m dccp --dport -1
-p dccp -m dccp --dccp-types REQUEST
-p dccp -m dccp --dccp-types request,response,DATA,ack,DATAACK,CLOSEREQ,CLOSE,RESET,SYNC,SYNCACK,INVALID
-p dccp -m dccp ! --dccp-types SYNC,RESET
-p dccp -m dccp --dccp-types SYNC,,RESET
-p dccp -m dccp --dccp-types SYNC,SYNC
-p dccp -m dccp --dccp-types FOO
-p dccp -m dccp --dccp-types 1
-p dccp -m dccp --dccp-types ""
-p dccp -m dccp --dccp-option 1
-p dccp -m dccp ! --dccp-option 255
-p dccp -m dccp --dccp-option 0
-p dccp -m dccp --dccp-option 256
-p dccp -m dccp --dccp-option 0x20
-p dccp -m dccp --dccp-option x
-p dccp -m dccp --sport 1 --dport 2 --dccp-types DATA --dccp-option 40
-p dccp -m dccp
-p dccp -m dccp --sport 1 --sport 2
-p dccp -m dccp --sport 1 --source-port 2
-p dccp -m dccp --dccp-types DATA --dccp-types ACK
-p dccp --dport 80
-p dccp -m dccp --sport ! 80
-m dccp --dport 80
-p tcp -m dccp --dport 80
-p 33 -m dccp --dport 80
! -p dccp -m dccp --dport 80
-p all -m dccp --dport 80
*mangle
:PREROUTING,POSTROUTING
-p dccp -m dccp --dccp-types REQUEST -j ACCEPT
