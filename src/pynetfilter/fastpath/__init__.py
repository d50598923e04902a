"""The fast path: chains compiled for lookup, equal to the interpreter in every observable way.

``classifier`` files a chain's rules in subtables (tuple space search on prefixes, protocol
and destination port) and follows the chain's edit log; ``traverse`` runs a table over the
compiled chains exactly as ``netfilter.traverse`` runs it rule by rule; ``explain`` prints
the compiled form (``pynf explain-compiled``).
"""
