# -m state: iptables 1.8.9 loads it as an alias of conntrack
*filter
:INPUT,FORWARD,OUTPUT
-m state --state RELATED,ESTABLISHED -j ACCEPT
-m state --state INVALID -j DROP
-m state ! --state NEW
-m state --state new,untracked
-m state --state NEW,ESTABLISHED,RELATED,INVALID,UNTRACKED
-m state --state E,R
-m state --state SNAT
-m state --state BOGUS
-m state --state NEW,
-m state --state ,NEW
-m state --state ""
-m state --state ! NEW
-m state
-m state --state NEW --state INVALID
-m state --sta NEW
-m state --state NEW -m conntrack --ctstate INVALID
*raw
:PREROUTING,OUTPUT
-m state --state UNTRACKED
