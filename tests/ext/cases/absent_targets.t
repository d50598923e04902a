# Targets iptables 1.8.9 ships whose kernel module this kernel lacks: refused by the kernel, and by pynetfilter
# LED: CONFIG_NETFILTER_XT_TARGET_LED unset (no CONFIG_NEW_LEDS); CLUSTERIP: CONFIG_IP_NF_TARGET_CLUSTERIP absent
# (removed from the kernel); ULOG: ipt_ULOG removed from the kernel (3.17)
*filter
:INPUT,FORWARD
-j LED --led-trigger-id pynfB
-j LED --led-trigger-id pynfB --led-delay 100 --led-always-blink
*mangle
:PREROUTING
-d 10.233.0.1 -i lo -j CLUSTERIP --new --hashmode sourceip --clustermac 01:00:5e:00:00:20 --total-nodes 2 --local-node 1
*filter
:INPUT
-j ULOG
-j ULOG --ulog-nlgroup 2 --ulog-prefix x
