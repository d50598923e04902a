# -m ipvs: iptables 1.8.9 ships libxt_ipvs, but this kernel has no IPVS (no CONFIG_IP_VS,
# no CONFIG_NETFILTER_XT_MATCH_IPVS), so every rule naming it is refused
*filter
:INPUT
-m ipvs --ipvs
-m ipvs ! --ipvs
-m ipvs --vproto tcp --vport 80
-m ipvs --vaddr 10.233.0.1/32 --vdir ORIGINAL
