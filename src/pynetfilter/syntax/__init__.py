"""iptables syntax: command lines, iptables-restore input, iptables-save and -L/-S output."""
