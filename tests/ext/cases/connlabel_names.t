# -m connlabel with names: recorded with connlabel_names.connlabel.conf as /etc/xtables/connlabel.conf
# (tools/record_kernel.py shows it to iptables in a private mount namespace); iptables then takes
# names only, saves and lists the name, and -L -n the bit
*filter
:INPUT,FORWARD
-m connlabel --label blue
-m connlabel ! --label eth0-in --set
-m connlabel --label eth0-out
-m connlabel --label last
-m connlabel --label beyond
-m connlabel --label 42
-m connlabel --label 0
-m connlabel --label nosuch
-m connlabel --label BLUE
-m connlabel --label "blue "
-m connlabel --label 5
-m connlabel --label 0x2a
