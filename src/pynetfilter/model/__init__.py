"""Ruleset values: tables, chains, rules, and the kernel's table check."""
