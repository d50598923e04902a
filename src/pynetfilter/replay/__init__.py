"""Replaying captures: real traffic of a host through the engine, and the kernel's counters out.

``inputs`` reads the capture and host files (noting what they cannot tell), ``capture`` what a
capture tells (frames, egress copies, the kernel's choices), ``infer`` the packets the host's
own sockets sent before OUTPUT NAT rewrote them, ``engine`` drives the pipeline with them and
reports packet by packet, ``warnings`` says where the answer cannot be the kernel's.
"""
