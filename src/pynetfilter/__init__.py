"""pynetfilter: Linux Netfilter and iptables, rebuilt in userspace Python.

    >>> from pynetfilter import Ruleset
    >>> rs = Ruleset.from_save(open("examples/kube-node.rules").read())   # doctest: +SKIP
    >>> rs.apply("-t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to 10.233.0.10")  # doctest: +SKIP
    >>> print(rs.save())  # doctest: +SKIP
"""

from pynetfilter.errors import KernelRefusal, ParameterProblem, PynfError, RestoreError
from pynetfilter.model.rule import IpMatch, Jump, Rule, Verdict
from pynetfilter.model.ruleset import Chain, Ruleset, Table
from pynetfilter.model.tables import Hook

__all__ = [
    "Chain", "Hook", "IpMatch", "Jump", "KernelRefusal", "ParameterProblem", "PynfError", "RestoreError",
    "Rule", "Ruleset", "Table", "Verdict",
]
__version__ = "0.1.0"
