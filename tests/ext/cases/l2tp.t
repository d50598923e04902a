# -m l2tp: the kernel has xt_l2tp (CONFIG_NETFILTER_XT_MATCH_L2TP=y) but iptables 1.8.9 ships no
# libxt_l2tp, so iptables refuses every rule naming it
*filter
:INPUT
-m l2tp --tid 5
-p udp -m l2tp --type control
-p udp --dport 1701 -m l2tp --tid 1 --sid 2
-m l2tp
