"""The netfilter pipeline: hooks, chain traversal, conntrack, NAT (sans-IO)."""
