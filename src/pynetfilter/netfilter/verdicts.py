"""Verdicts as the kernel's x_tables code uses them (linux/netfilter.h, x_tables.h)."""

from __future__ import annotations

NF_DROP = 0
NF_ACCEPT = 1
NF_STOLEN = 2
NF_QUEUE = 3
NF_REPEAT = 4
XT_CONTINUE = -1  # XT_CONTINUE (0xFFFFFFFF): go on with the next rule
XT_RETURN = -5  # -NF_REPEAT - 1: return to the calling chain

NAMES = {NF_DROP: "DROP", NF_ACCEPT: "ACCEPT", NF_STOLEN: "STOLEN", NF_QUEUE: "QUEUE",
         NF_REPEAT: "REPEAT", XT_CONTINUE: "CONTINUE", XT_RETURN: "RETURN"}
BY_NAME = {"ACCEPT": NF_ACCEPT, "DROP": NF_DROP, "QUEUE": NF_QUEUE, "RETURN": XT_RETURN}
