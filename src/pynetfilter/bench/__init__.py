"""Benchmarks: ``pynf bench services`` (kube-proxy rulesets) and ``pynf bench classbench``.

Everything here measures the real packet path (pynetfilter.netfilter.pipeline.Engine or the
table traversal) beside the kernel doing the same work in network namespaces of its own.
"""
